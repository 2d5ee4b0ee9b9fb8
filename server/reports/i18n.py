"""Report wording in Indonesian (the mayor's office) and English."""

from __future__ import annotations

LANGS = ("id", "en")

TEXT: dict[str, tuple[str, str]] = {
    "weekly": ("Laporan Mingguan", "Weekly Report"),
    "monthly": ("Laporan Bulanan", "Monthly Report"),
    "yearly": ("Laporan Tahunan", "Yearly Report"),
    "city": ("Pantau — Pusat Komando Kota Bandung", "Pantau — Bandung City Command Center"),
    "period": ("Periode", "Period"),
    "generated": ("Dibuat", "Generated"),
    "times_note": ("Waktu dalam WIB (Asia/Jakarta). SLA dinilai per",
                   "Times in WIB (Asia/Jakarta). SLA judged as of"),
    "summary": ("Ringkasan", "Summary"),
    "channels": ("Volume per kanal", "Volume by channel"),
    "categories": ("Volume per kategori", "Volume by category"),
    "departments": ("Volume per SKPD", "Volume by department"),
    "districts": ("Volume per kecamatan", "Volume by district"),
    "sla_departments": ("Kepatuhan SLA per SKPD", "SLA compliance by department"),
    "response_times": ("Waktu tanggap dan penyelesaian", "Time to acknowledge and resolve"),
    "alarms": ("Tombol panik", "Panic alarms"),
    "calls112": ("Panggilan 112", "112 calls"),
    "heatmap": ("Jam tersibuk (hari x jam)", "Busiest hours (weekday x hour)"),
    "trend": ("Tren volume", "Volume trend"),
    "staffing": ("Kehadiran petugas dibanding jadwal per shift",
                 "Staffing against the roster per shift"),
    # columns
    "channel": ("Kanal", "Channel"), "category_id": ("Kategori", "Category"),
    "department_id": ("SKPD", "Department"), "district_id": ("Kecamatan", "District"),
    "tickets": ("Tiket", "Tickets"), "share": ("Porsi %", "Share %"),
    "ack_met": ("Tanggap tepat", "Ack on time"), "ack_missed": ("Tanggap terlambat", "Ack late"),
    "ack_compliance": ("Kepatuhan tanggap %", "Ack compliance %"),
    "resolve_met": ("Selesai tepat", "Resolved on time"),
    "resolve_missed": ("Selesai terlambat", "Resolved late"),
    "resolve_compliance": ("Kepatuhan selesai %", "Resolve compliance %"),
    "priority": ("Prioritas", "Priority"), "acknowledged": ("Ditanggapi", "Acknowledged"),
    "ack_p50_min": ("Median tanggap (menit)", "Median ack (min)"),
    "ack_p90_min": ("P90 tanggap (menit)", "P90 ack (min)"),
    "resolved": ("Diselesaikan", "Resolved"),
    "resolve_p50_h": ("Median selesai (jam)", "Median resolve (h)"),
    "resolve_p90_h": ("P90 selesai (jam)", "P90 resolve (h)"),
    "measure": ("Ukuran", "Measure"), "value": ("Nilai", "Value"),
    "raised": ("Alarm masuk", "Raised"), "dispatched": ("Diberangkatkan", "Dispatched"),
    "false_alarms": ("Alarm palsu", "False alarms"), "escalated": ("Dieskalasi", "Escalated"),
    "ack_p50": ("Median tanggap (detik)", "Median ack (s)"),
    "ack_p90": ("P90 tanggap (detik)", "P90 ack (s)"),
    "dispatch_p50": ("Median pemberangkatan (detik)", "Median dispatch (s)"),
    "dispatch_p90": ("P90 pemberangkatan (detik)", "P90 dispatch (s)"),
    "close_reason": ("Alasan penutupan", "Close reason"), "calls": ("Panggilan", "Calls"),
    "weekday": ("Hari", "Weekday"), "bucket": ("Tanggal", "Date"),
    "template": ("Shift", "Shift"), "role": ("Peran", "Role"), "shifts": ("Shift", "Shifts"),
    "worked": ("Dibuka", "Worked"), "minimum": ("Minimum", "Minimum"),
    "avg_rostered": ("Rata-rata dijadwalkan", "Avg rostered"),
    "avg_attended": ("Rata-rata hadir", "Avg attended"),
    "short_rostered": ("Jadwal kurang", "Roster short"),
    "short_attended": ("Kehadiran kurang", "Attendance short"),
    "staffing_shifts": ("Kehadiran per shift", "Staffing of each shift"),
    "day": ("Tanggal", "Day"), "status": ("Status", "Status"),
    "rostered": ("Dijadwalkan", "Rostered"), "attended": ("Hadir", "Attended"),
    "short_roles": ("Peran kurang", "Roles short"),
    "planned": ("direncanakan", "planned"), "open": ("berjalan", "open"),
    "closed": ("ditutup", "closed"),
    "see_csv": ("{n} baris: lihat {file}.", "{n} rows: see {file}."),
    "no_reason": ("(darurat / belum ditutup)", "(emergency / still open)"),
    "all": ("Semua", "All"), "none": ("(belum dirutekan)", "(not routed)"),
    "no_data": ("Tidak ada data.", "No data."),
}

WEEKDAYS = {"id": ("Sen", "Sel", "Rab", "Kam", "Jum", "Sab", "Min"),
            "en": ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")}

ROLES = {"call_center": ("Call center", "Call center"), "expert": ("Ahli", "Expert"),
         "police": ("Polisi", "Police"), "supervisor": ("Supervisor", "Supervisor")}


def t(key: str, lang: str) -> str:
    """The text for `key` in `lang`; an unknown key is shown as itself."""
    pair = TEXT.get(key) or ROLES.get(key)
    if pair is None:
        return key
    return pair[0] if lang == "id" else pair[1]


def summary_lines(lang: str) -> dict[str, str]:
    """Sentence templates for the text summary (str.format fields)."""
    if lang == "id":
        return {
            "head": "{title} {period} ({start} s.d. {end} WIB)",
            "tickets": "Tiket masuk: {tickets}.",
            "no_tickets": "Tidak ada tiket pada periode ini.",
            "sla": "Kepatuhan SLA: tanggap {ack}%, selesai {resolve}%.",
            "times": "Median waktu tanggap {ack_min} menit; median penyelesaian {res_h} jam.",
            "calls": "Panggilan 112: {calls}, bukan darurat {ne} ({share}%).",
            "alarms": "Tombol panik: {alarms} alarm, median tanggap {ack_s} detik.",
            "busiest": "Jam tersibuk: {day} pukul {hour:02d}.00 ({n} tiket).",
            "staffing": "Peran-shift dengan kehadiran di bawah minimum: {n}.",
        }
    return {
        "head": "{title} {period} ({start} to {end} WIB)",
        "tickets": "Tickets received: {tickets}.",
        "no_tickets": "No tickets in this period.",
        "sla": "SLA compliance: acknowledge {ack}%, resolve {resolve}%.",
        "times": "Median time to acknowledge {ack_min} min; median time to resolve {res_h} h.",
        "calls": "112 calls: {calls}, not emergencies {ne} ({share}%).",
        "alarms": "Panic alarms: {alarms}, median acknowledge {ack_s} s.",
        "busiest": "Busiest hour: {day} at {hour:02d}:00 ({n} tickets).",
        "staffing": "Shift roles with attendance below the minimum: {n}.",
    }
