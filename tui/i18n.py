"""English and Indonesian strings for the console.

Deliberately tiny: one table of key -> (English, Indonesian). The language comes
from `--lang`, PANTAU_LANG, or the signed-in person's preference, in that order.
A missing key shows the key itself, which a test would notice.
"""

from __future__ import annotations

STRINGS: dict[str, tuple[str, str]] = {
    "app.title": ("Pantau console", "Konsol Pantau"),
    "login.title": ("Sign in to {server}", "Masuk ke {server}"),
    "login.username": ("username", "nama pengguna"),
    "login.password": ("password", "kata sandi"),
    "login.button": ("Sign in", "Masuk"),
    "login.failed": ("Sign-in failed: {message}", "Gagal masuk: {message}"),
    "conn.live": ("live", "langsung"),
    "conn.connecting": ("connecting…", "menghubungkan…"),
    "conn.retrying": ("disconnected, retrying in {secs:.0f}s",
                      "terputus, mencoba lagi {secs:.0f} dtk"),
    "conn.signed_out": ("signed out: sign in again", "sesi berakhir: masuk lagi"),
    "alarm.banner": ("{n} PANIC ALARM(S) NOT ACKNOWLEDGED: {where}  [F4]",
                     "{n} ALARM PANIK BELUM DIAKUI: {where}  [F4]"),
    "queue.title": ("Queue", "Antrean"),
    "queue.count": ("{shown} of {total}", "{shown} dari {total}"),
    "queue.filter": ("filter: text, d:district, dep:dept, s:status, p:priority",
                     "saring: teks, d:kecamatan, dep:dinas, s:status, p:prioritas"),
    "queue.loading": ("loading tickets…", "memuat tiket…"),
    "col.priority": ("P", "P"),
    "col.sla": ("SLA", "SLA"),
    "col.status": ("Status", "Status"),
    "col.category": ("Category", "Kategori"),
    "col.department": ("Dept", "Dinas"),
    "col.district": ("District", "Kecamatan"),
    "col.age": ("Age", "Umur"),
    "col.channel": ("Chan", "Kanal"),
    "ticket.stale": ("Ticket {ref} was changed by someone else; refreshed, try again",
                     "Tiket {ref} diubah orang lain; dimuat ulang, coba lagi"),
    "ticket.done": ("{ref}: {what}", "{ref}: {what}"),
    "ticket.none": ("No ticket selected", "Tidak ada tiket dipilih"),
    "ticket.details": ("Details", "Rincian"),
    "ticket.timeline": ("Timeline", "Riwayat"),
    "ticket.notes": ("Notes", "Catatan"),
    "ticket.camera": ("Nearest camera", "Kamera terdekat"),
    "ticket.duplicates": ("Possible duplicates", "Kemungkinan duplikat"),
    "ticket.no_duplicates": ("none", "tidak ada"),
    "route.title": ("Route {ref} to… (suggested: {suggested})",
                    "Teruskan {ref} ke… (saran: {suggested})"),
    "merge.title": ("Merge {ref} into…", "Gabungkan {ref} ke…"),
    "note.title": ("Note on {ref}", "Catatan untuk {ref}"),
    "confirm.yes": ("Yes (y)", "Ya (y)"),
    "confirm.no": ("No (n)", "Tidak (n)"),
    "confirm.close": ("Close ticket {ref}?", "Tutup tiket {ref}?"),
    "confirm.merge": ("Merge {ref} into {into}? The master keeps the notes.",
                      "Gabungkan {ref} ke {into}? Catatan pindah ke tiket induk."),
    "confirm.reject": ("Reject ticket {ref}?", "Tolak tiket {ref}?"),
    "confirm.layout": ("Change wall monitor {monitor} to {layout}? Everyone in the room sees it.",
                       "Ubah monitor {monitor} ke {layout}? Semua orang di ruangan melihatnya."),
    "role.denied": ("Needs the {role} role", "Perlu peran {role}"),
    "unavailable": ("{what} is not available on this server yet.",
                    "{what} belum tersedia di server ini."),
    "alarms.title": ("Panic alarms", "Alarm panik"),
    "alarms.none": ("No open alarms", "Tidak ada alarm terbuka"),
    "alarms.dispatch": ("Dispatch {ref}: unit and note",
                        "Kirim unit untuk {ref}: unit dan catatan"),
    "cameras.title": ("Cameras", "Kamera"),
    "call.title": ("112 call", "Panggilan 112"),
    "call.phone": ("caller number", "nomor penelepon"),
    "call.name": ("caller name", "nama penelepon"),
    "call.address": ("location", "lokasi"),
    "call.what": ("what happened", "kejadian"),
    "call.filed": ("Call filed as {ref}", "Panggilan dicatat sebagai {ref}"),
    "call.closed": ("Call {ref} closed: {reason}", "Panggilan {ref} ditutup: {reason}"),
    "help.title": ("Keys on this screen", "Tombol di layar ini"),
    "shift.title": ("Shift", "Sif"),
    "shift.roster": ("Roster", "Jadwal jaga"),
    "shift.understaffed_short": ("UNDERSTAFFED: {detail}", "KURANG PERSONEL: {detail}"),
    "shift.handover_pending": ("handover waiting for your acknowledgement [S]",
                               "serah terima menunggu konfirmasi Anda [S]"),
    "shift.assign": ("Assign to this shift", "Tugaskan ke shift ini"),
    "shift.swap": ("Swap: who goes out, who comes in", "Tukar: siapa keluar, siapa masuk"),
    "shift.username": ("username", "nama pengguna"),
    "shift.swap_out": ("out: username", "keluar: nama pengguna"),
    "shift.swap_in": ("in: username", "masuk: nama pengguna"),
    "shift.reason": ("reason (optional)", "alasan (opsional)"),
    "confirm.assign": ("Assign {person} to {shift}?", "Tugaskan {person} ke {shift}?"),
    "confirm.swap": ("Swap {out} out and {into} in on {shift}?",
                     "Tukar {out} keluar dan {into} masuk di {shift}?"),
    "shift.no_handover": ("No handover is waiting for acknowledgement",
                          "Tidak ada serah terima yang menunggu konfirmasi"),
    "shift.handover_ack": ("acknowledge handover", "konfirmasi serah terima"),
    "confirm.handover": ("Acknowledge the handover of {shift}? You confirm you read it.",
                         "Konfirmasi serah terima {shift}? Anda menyatakan sudah membacanya."),
    "shift.understaffed": ("Understaffed: below the minimum for this shift",
                           "Kurang personel: di bawah minimum sif ini"),
    "shift.unplanned": ("This shift is not planned yet", "Sif ini belum direncanakan"),
    "shift.handover": ("Handover notes for the next shift (enter to continue)",
                       "Catatan serah terima untuk sif berikutnya (enter untuk lanjut)"),
    "confirm.shift_open": ("Open shift {shift}?", "Buka sif {shift}?"),
    "confirm.shift_close": ("Close shift {shift} and hand over?",
                            "Tutup sif {shift} dan serah terima?"),
}

# Key descriptions (Binding(..., description)) in Indonesian; English is the key itself.
KEY_LABELS_ID: dict[str, str] = {
    "triage": "triase", "route": "teruskan", "note": "catatan", "merge": "gabung",
    "close": "tutup", "filter": "saring", "help": "bantuan", "queue": "antrean",
    "alarms": "alarm", "cameras": "kamera", "commands": "perintah", "back": "kembali",
    "clear filter": "hapus saringan", "open": "buka", "reload": "muat ulang",
    "112 call": "panggilan 112", "shift": "sif", "acknowledge": "akui",
    "dispatch": "kirim unit", "resolve": "selesaikan", "down": "turun", "up": "naik",
    "top": "atas", "bottom": "bawah", "file call": "catat panggilan", "prank": "iseng",
    "info": "informasi", "wrong no.": "salah sambung", "dup": "duplikat",
    "new call": "panggilan baru", "to wall": "ke layar", "next": "berikut",
    "previous": "sebelum", "wall layout (supervisor)": "tata layar (supervisor)",
    "check in": "hadir", "check out": "pulang", "open shift (supervisor)":
    "buka sif (supervisor)", "close shift (supervisor)": "tutup sif (supervisor)",
    "reject (supervisor)": "tolak", "reopen (supervisor)": "buka lagi", "yes": "ya",
    "no": "tidak", "cancel": "batal", "priority 1": "prioritas 1",
    "priority 2": "prioritas 2", "priority 3": "prioritas 3", "priority 4": "prioritas 4",
}

_language = "en"


def set_language(lang: str | None) -> str:
    """Switch the language ("en" or "id"); anything else keeps English."""
    global _language
    _language = "id" if (lang or "").lower().startswith(("id", "in")) else "en"
    return _language


def language() -> str:
    return _language


def t(key: str, **values: object) -> str:
    """The string for `key` in the current language, formatted with `values`."""
    pair = STRINGS.get(key)
    if pair is None:
        return key
    text = pair[1] if _language == "id" else pair[0]
    return text.format(**values) if values else text


def key_label(description: str) -> str:
    """A key's description in the current language (footer and help)."""
    return KEY_LABELS_ID.get(description, description) if _language == "id" else description
