// The department page (/dept, server/templates/dept.html), live: reload the list
// when an event about this department's tickets arrives, unless the user is
// typing. The session cookie authenticates the WebSocket (same origin only).
(function () {
  var since = null, timer = null;
  function busy() {
    var a = document.activeElement;
    return a && a.tagName === "INPUT" && a.value;
  }
  function refresh() {
    if (busy()) { timer = setTimeout(refresh, 2000); return; }
    location.reload();
  }
  function connect() {
    var url = (location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/api/events";
    var ws = new WebSocket(since === null ? url : url + "?since=" + since);
    ws.onmessage = function (m) {
      var msg = JSON.parse(m.data);
      if (msg.type === "hello") { since = msg.last_id; var live = document.getElementById("live"); live.textContent = live.dataset.live; }
      if (msg.type === "event") {
        since = msg.id;
        if (msg.kind.indexOf("ticket.") === 0 && !timer) { timer = setTimeout(refresh, 500); }
      }
      // Too long away to replay what happened: the page itself is the state to reload.
      if (msg.type === "resync" && msg.snapshot && !timer) { timer = setTimeout(refresh, 0); }
    };
    ws.onclose = function () { var live = document.getElementById("live"); live.textContent = live.dataset.reconnecting; setTimeout(connect, 2000); };
  }
  connect();
})();
