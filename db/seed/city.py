"""The demo city: Bandung's 30 kecamatan, its departments (SKPD), complaint
categories, 24 camera locations and shift templates. Coordinates are approximate
district centres and well-known places, good enough for distance and routing."""

from __future__ import annotations

# code, name, lat, lon
DISTRICTS = [
    ("andir", "Andir", -6.9097, 107.5786),
    ("antapani", "Antapani", -6.9125, 107.6611),
    ("arcamanik", "Arcamanik", -6.9133, 107.6772),
    ("astanaanyar", "Astanaanyar", -6.9286, 107.6014),
    ("babakan-ciparay", "Babakan Ciparay", -6.9422, 107.5786),
    ("bandung-kidul", "Bandung Kidul", -6.9583, 107.6333),
    ("bandung-kulon", "Bandung Kulon", -6.9264, 107.5628),
    ("bandung-wetan", "Bandung Wetan", -6.9031, 107.6178),
    ("batununggal", "Batununggal", -6.9356, 107.6297),
    ("bojongloa-kaler", "Bojongloa Kaler", -6.9333, 107.5883),
    ("bojongloa-kidul", "Bojongloa Kidul", -6.9494, 107.5911),
    ("buahbatu", "Buahbatu", -6.9494, 107.6558),
    ("cibeunying-kaler", "Cibeunying Kaler", -6.8922, 107.6325),
    ("cibeunying-kidul", "Cibeunying Kidul", -6.9036, 107.6436),
    ("cibiru", "Cibiru", -6.9194, 107.7211),
    ("cicendo", "Cicendo", -6.9047, 107.5942),
    ("cidadap", "Cidadap", -6.8631, 107.6036),
    ("cinambo", "Cinambo", -6.9322, 107.6933),
    ("coblong", "Coblong", -6.8897, 107.6147),
    ("gedebage", "Gedebage", -6.9553, 107.6933),
    ("kiaracondong", "Kiaracondong", -6.9231, 107.6453),
    ("lengkong", "Lengkong", -6.9317, 107.6197),
    ("mandalajati", "Mandalajati", -6.9039, 107.6667),
    ("panyileukan", "Panyileukan", -6.9339, 107.7061),
    ("rancasari", "Rancasari", -6.9511, 107.6775),
    ("regol", "Regol", -6.9378, 107.6106),
    ("sukajadi", "Sukajadi", -6.8889, 107.5950),
    ("sukasari", "Sukasari", -6.8700, 107.5847),
    ("sumur-bandung", "Sumur Bandung", -6.9175, 107.6133),
    ("ujungberung", "Ujungberung", -6.9103, 107.7031),
]

# code, name (id), name (en), emergency service?, ack minutes, resolve days
DEPARTMENTS = [
    ("dsdabm", "Dinas Sumber Daya Air dan Bina Marga", "Roads and Drainage", False, 60, 5),
    ("dishub", "Dinas Perhubungan", "Transport", False, 60, 5),
    ("dlh", "Dinas Lingkungan Hidup", "Environment and Sanitation", False, 60, 5),
    ("diskar", "Dinas Kebakaran dan Penanggulangan Bencana", "Fire and Rescue", True, 5, 1),
    ("dinkes", "Dinas Kesehatan", "Health", True, 5, 3),
    ("satpolpp", "Satuan Polisi Pamong Praja", "Public Order (Satpol PP)", False, 30, 3),
    ("polrestabes", "Polrestabes Bandung", "Police", True, 5, 1),
    ("pdam", "Perumda Air Minum Tirtawening", "Water Utility", False, 60, 3),
    ("pln", "PLN UP3 Bandung", "Electricity", False, 60, 2),
    ("dinsos", "Dinas Sosial", "Social Affairs", False, 60, 5),
    ("dpkp", "Dinas Perumahan, Kawasan Permukiman dan Pertamanan", "Housing and Parks",
     False, 60, 7),
    ("bpbd", "Badan Penanggulangan Bencana Daerah", "Disaster Management", True, 10, 2),
]

# code, name (id), name (en), department code, default priority
CATEGORIES = [
    ("jalan-rusak", "Jalan rusak / berlubang", "Damaged road / pothole", "dsdabm", 3),
    ("drainase", "Saluran air tersumbat", "Blocked drainage", "dsdabm", 3),
    ("banjir", "Banjir / genangan", "Flooding", "dsdabm", 2),
    ("lampu-jalan", "Penerangan jalan mati", "Street light out", "dishub", 4),
    ("lampu-lalin", "Lampu lalu lintas rusak", "Traffic light broken", "dishub", 2),
    ("parkir-liar", "Parkir liar", "Illegal parking", "dishub", 4),
    ("kemacetan", "Kemacetan", "Traffic jam", "dishub", 3),
    ("sampah", "Sampah menumpuk", "Uncollected waste", "dlh", 3),
    ("polusi", "Pencemaran", "Pollution", "dlh", 3),
    ("kebakaran", "Kebakaran", "Fire", "diskar", 1),
    ("penyelamatan", "Penyelamatan / evakuasi", "Rescue", "diskar", 1),
    ("kesehatan", "Kedaruratan medis", "Medical emergency", "dinkes", 1),
    ("pkl", "Pedagang kaki lima", "Street vendors", "satpolpp", 4),
    ("ketertiban", "Gangguan ketertiban", "Public disorder", "satpolpp", 3),
    ("kecelakaan", "Kecelakaan lalu lintas", "Traffic accident", "polrestabes", 1),
    ("kriminalitas", "Tindak kriminal", "Crime", "polrestabes", 1),
    ("air-bersih", "Air PDAM tidak mengalir", "No mains water", "pdam", 3),
    ("pipa-bocor", "Pipa bocor", "Burst pipe", "pdam", 3),
    ("listrik-padam", "Listrik padam", "Power outage", "pln", 3),
    ("odgj", "ODGJ / gelandangan", "Vulnerable person on the street", "dinsos", 3),
    ("pohon-tumbang", "Pohon tumbang", "Fallen tree", "dpkp", 2),
    ("taman", "Taman rusak", "Damaged park", "dpkp", 4),
    ("longsor", "Tanah longsor", "Landslide", "bpbd", 1),
    # The panic button's own (migration 0020 creates it, channel 'panic' only).
    ("tombol-darurat", "Tombol darurat (alarm panik)", "Panic button alarm", "polrestabes", 1),
]

# code, name, district code, lat, lon
CAMERAS = [
    ("simpang-dago", "Simpang Dago", "coblong", -6.8851, 107.6135),
    ("alun-alun", "Alun-Alun Bandung", "regol", -6.9218, 107.6070),
    ("asia-afrika", "Jl. Asia Afrika", "sumur-bandung", -6.9211, 107.6098),
    ("gedung-sate", "Gedung Sate", "bandung-wetan", -6.9025, 107.6188),
    ("pasteur", "Gerbang Tol Pasteur", "sukajadi", -6.8936, 107.5806),
    ("cihampelas", "Jl. Cihampelas", "coblong", -6.8938, 107.6045),
    ("braga", "Jl. Braga", "sumur-bandung", -6.9175, 107.6093),
    ("simpang-lima", "Simpang Lima", "lengkong", -6.9248, 107.6192),
    ("buahbatu", "Jl. Soekarno-Hatta x Buahbatu", "buahbatu", -6.9440, 107.6340),
    ("gasibu", "Lapangan Gasibu", "bandung-wetan", -6.9003, 107.6185),
    ("kiaracondong", "Stasiun Kiaracondong", "kiaracondong", -6.9252, 107.6462),
    ("cicaheum", "Terminal Cicaheum", "cibeunying-kidul", -6.9013, 107.6556),
    ("leuwipanjang", "Terminal Leuwipanjang", "bojongloa-kidul", -6.9459, 107.5964),
    ("setiabudi", "Jl. Setiabudi", "sukasari", -6.8696, 107.5946),
    ("merdeka", "Jl. Merdeka", "sumur-bandung", -6.9117, 107.6098),
    ("pasar-baru", "Pasar Baru", "andir", -6.9170, 107.6020),
    ("riau", "Jl. RE Martadinata", "bandung-wetan", -6.9063, 107.6147),
    ("ujungberung", "Alun-Alun Ujungberung", "ujungberung", -6.9128, 107.7015),
    ("cibiru", "Bundaran Cibiru", "cibiru", -6.9350, 107.7222),
    ("gbla", "Stadion GBLA", "gedebage", -6.9574, 107.7121),
    ("djunjunan", "Jl. Dr. Djunjunan", "sukajadi", -6.8912, 107.5871),
    ("pahlawan", "Jl. Pahlawan", "cibeunying-kaler", -6.8991, 107.6381),
    ("taman-lansia", "Taman Lansia", "bandung-wetan", -6.9054, 107.6239),
    ("ahmad-yani", "Jl. Ahmad Yani", "batununggal", -6.9173, 107.6310),
]

# code, name, start, end (Asia/Jakarta)
SHIFT_TEMPLATES = [
    ("pagi", "Pagi", "07:00", "15:00"),
    ("siang", "Siang", "15:00", "23:00"),
    ("malam", "Malam", "23:00", "07:00"),
]

# The Bandung Command Center's complement per shift.
STAFFING = {"expert": 9, "call_center": 15, "police": 4, "supervisor": 1}

FIRST_NAMES = [
    "Asep", "Dedi", "Rina", "Siti", "Agus", "Yuli", "Budi", "Dewi", "Hendra", "Lina",
    "Ujang", "Neneng", "Iwan", "Euis", "Rudi", "Nining", "Cecep", "Tuti", "Dadang", "Wati",
    "Fajar", "Intan", "Galih", "Ratna", "Yusuf", "Sri", "Eko", "Ayu", "Ridwan", "Nurul",
]
LAST_NAMES = [
    "Sunarya", "Permana", "Hidayat", "Kurniawan", "Rahmawati", "Setiawan", "Saputra",
    "Nugraha", "Suryadi", "Wijaya", "Gunawan", "Lestari", "Maulana", "Rosita", "Firmansyah",
]

COMPLAINT_TEXTS = {
    "jalan-rusak": "Jalan berlubang cukup dalam, membahayakan pengendara motor.",
    "drainase": "Saluran air tersumbat sampah, air meluap ke jalan saat hujan.",
    "banjir": "Genangan air setinggi lutut setelah hujan deras.",
    "lampu-jalan": "Lampu PJU mati sudah seminggu, jalan gelap di malam hari.",
    "lampu-lalin": "Lampu lalu lintas di persimpangan mati, lalu lintas semrawut.",
    "parkir-liar": "Banyak mobil parkir di bahu jalan sehingga macet.",
    "kemacetan": "Kemacetan parah di jam pulang kerja.",
    "sampah": "Sampah menumpuk di TPS dan belum diangkut tiga hari.",
    "polusi": "Asap pembakaran sampah mengganggu warga.",
    "kebakaran": "Terlihat asap dan api dari rumah warga.",
    "penyelamatan": "Ada warga terjebak di dalam sumur.",
    "kesehatan": "Seorang pejalan kaki pingsan di trotoar.",
    "pkl": "Pedagang kaki lima menutup trotoar.",
    "ketertiban": "Keributan di depan pertokoan malam hari.",
    "kecelakaan": "Tabrakan motor dan mobil, ada korban luka.",
    "kriminalitas": "Dugaan pencurian motor di area parkir.",
    "air-bersih": "Air PDAM tidak mengalir sejak kemarin.",
    "pipa-bocor": "Pipa air bocor, air menyembur ke jalan.",
    "listrik-padam": "Listrik padam di satu RW sejak pagi.",
    "odgj": "Ada orang terlantar tidur di halte.",
    "pohon-tumbang": "Pohon tumbang menutup sebagian jalan.",
    "taman": "Bangku dan lampu taman rusak.",
    "longsor": "Tebing longsor menimpa rumah warga.",
}

# -- the demo city's year: how often things happen and how they are answered ------
# (db/seed/history.py turns these into a year of tickets and their event log).

# Tickets a day, all channels together: the default demo (`pantau seed demo`) is
# a year of them; `--tickets N` is N tickets at this rate, so fewer tickets mean
# a shorter history ending today, not a quieter city.
TICKETS_PER_DAY = 8
DEMO_TICKETS = 365 * TICKETS_PER_DAY

# Channel -> share of tickets. Panic-button tickets come only from real presses.
CHANNEL_SHARES = {"open311": 34, "web": 18, "call112": 26, "cctv": 10, "walk_in": 12}

# Category -> how common it is among complaints and real emergencies.
CATEGORY_SHARES = {
    "jalan-rusak": 14, "drainase": 8, "banjir": 4, "lampu-jalan": 10, "lampu-lalin": 3,
    "parkir-liar": 7, "kemacetan": 5, "sampah": 12, "polusi": 2, "kebakaran": 2,
    "penyelamatan": 1, "kesehatan": 4, "pkl": 6, "ketertiban": 3, "kecelakaan": 4,
    "kriminalitas": 2, "air-bersih": 5, "pipa-bocor": 3, "listrik-padam": 4, "odgj": 2,
    "pohon-tumbang": 3, "taman": 2, "longsor": 1,
}
# What operators watching the cameras file.
CCTV_CATEGORIES = ("kemacetan", "kecelakaan", "parkir-liar", "banjir", "pohon-tumbang",
                   "ketertiban", "pkl", "sampah", "lampu-lalin")
# Where exactly, appended to a complaint's text so the queue does not read the same.
SPOTS = ("depan SD Negeri", "dekat masjid", "samping pasar", "di gang RT 04/RW 07",
         "depan minimarket", "dekat halte bus", "di ujung jalan", "depan kantor kelurahan",
         "dekat jembatan", "di perempatan")
# What 112 callers mostly report (the real emergencies among the calls).
CALL_CATEGORIES = ("kecelakaan", "kesehatan", "kebakaran", "kriminalitas", "penyelamatan",
                   "banjir", "pohon-tumbang", "longsor", "ketertiban")

# Most 112 calls are no emergency; the call-taker closes them at once with a reason.
# reason, share, what the call-taker writes
CALLS_NOT_EMERGENCY = [
    ("prank", 45, "Panggilan iseng: penelepon tertawa lalu menutup telepon."),
    ("information", 30, "Penelepon menanyakan nomor layanan PDAM dan jam buka kantor."),
    ("wrong_number", 15, "Salah sambung, penelepon mencari nomor lain."),
    ("duplicate", 10, "Melaporkan kejadian yang sama dengan panggilan sebelumnya."),
]
CALL_EMERGENCY_SHARE = 0.4

# Local hour (Asia/Jakarta) -> relative number of tickets filed in it.
HOURLY_SHARES = (2, 1, 1, 1, 1, 2, 4, 7, 9, 10, 10, 9, 8, 8, 9, 9, 9, 8, 8, 7, 6, 5, 4, 3)

# How often a promise is missed: most tickets are handled within their SLA.
LATE_ACK_SHARE = 0.05
LATE_RESOLVE_SHARE = 0.07
REJECT_SHARE = 0.05  # complaints from the public turned down at verification
REJECT_REASONS = (
    "Di luar kewenangan Pemerintah Kota Bandung (jalan nasional).",
    "Laporan tidak lengkap dan pelapor tidak dapat dihubungi.",
    "Lokasi di luar wilayah Kota Bandung.",
)

# What the department writes when it resolves a ticket, per department.
RESOLVE_NOTES = {
    "dsdabm": "Lubang sudah ditambal dan saluran dibersihkan oleh tim UPT.",
    "dishub": "Petugas Dishub sudah menertibkan dan memperbaiki di lokasi.",
    "dlh": "Sampah sudah diangkut oleh armada DLH.",
    "diskar": "Api berhasil dipadamkan, tidak ada korban jiwa.",
    "dinkes": "Pasien ditangani ambulans 119 dan dirujuk ke rumah sakit.",
    "satpolpp": "Satpol PP sudah melakukan penertiban di lokasi.",
    "polrestabes": "Unit Polsek setempat sudah menangani di lokasi.",
    "pdam": "Pipa sudah diperbaiki, aliran air kembali normal.",
    "pln": "Gangguan jaringan sudah diperbaiki, listrik kembali menyala.",
    "dinsos": "Warga sudah dijangkau petugas dan dibawa ke rumah singgah.",
    "dpkp": "Pohon sudah dipotong dan dievakuasi, taman diperbaiki.",
    "bpbd": "Tim reaksi cepat BPBD sudah melakukan evakuasi dan pembersihan.",
}
