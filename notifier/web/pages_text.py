"""The words of the shopper's pages (tracking, look-up, unsubscribe), in Indonesian and English.

Indonesian follows the shops' own voice in messages: "Kak", "paketmu", an apology when something
goes wrong ("Kami minta maaf atas ketidaknyamanannya") and an offer to help rather than a rule.
Placeholders are ``str.format`` fields filled by :mod:`notifier.web.pages` and
:mod:`notifier.web.lookup`.
"""

from __future__ import annotations

LOCALES = ("id", "en")

TEXT: dict[str, dict[str, str]] = {
    "id": {
        "other_lang": "English",
        "other_lang_code": "en",
        "title": "Lacak paket",
        "hello": "Halo, Kak {name}!",
        "hello_anon": "Halo, Kak!",
        "order_from": "Pesanan {order} dari {shop}",
        "progress": "Progres pengiriman",
        "step_ordered": "Pesanan dibuat",
        "step_shipped": "Dikirim",
        "step_in_transit": "Dalam perjalanan",
        "step_out_for_delivery": "Diantar kurir",
        "step_delivered": "Diterima",
        "done": "selesai",
        "now": "sekarang",
        "eta": "Perkiraan tiba",
        "today": "hari ini",
        "tomorrow": "besok",
        "eta_passed": "sudah lewat",
        "delivered_on": "Diterima pada",
        "note_delayed": "Pengiriman paketmu sedikit terlambat dari perkiraan. Kami minta maaf atas "
        "ketidaknyamanannya — kami terus memantaunya untukmu.",
        "note_pending": "Paketmu sudah kami serahkan ke kurir. Status akan muncul begitu kurir "
        "memindainya.",
        "note_info_received": "Paketmu sudah kami serahkan ke kurir. Status akan muncul begitu "
        "kurir memindainya.",
        "note_out_for_delivery": "Kurir sedang dalam perjalanan ke alamatmu hari ini.",
        "note_failed_attempt": "Kurir belum berhasil mengantar paketmu. Biasanya kurir akan "
        "mencoba lagi; pastikan ada yang bisa menerima paket. Butuh bantuan? Chat kami.",
        "note_available_for_pickup": "Paketmu sudah menunggu untuk diambil.",
        "note_available_for_pickup_at": "Paketmu sudah menunggu untuk diambil di {place}.",
        "note_exception": "Ada kendala dalam pengiriman paketmu. Kami minta maaf atas "
        "ketidaknyamanannya — chat kami, kami bantu cek ke kurir.",
        "note_returned_to_sender": "Paketmu dikembalikan ke kami. Kami minta maaf atas "
        "ketidaknyamanannya; chat kami untuk kirim ulang atau pengembalian dana.",
        "note_expired": "Sudah lama belum ada kabar dari kurir. Bila paket belum tiba, chat kami "
        "dan kami bantu cek.",
        "note_delivered": "Paketmu sudah sampai. Terima kasih sudah berbelanja di {shop}!",
        "carrier": "Kurir",
        "number": "No. resi",
        "order": "No. pesanan",
        "copy_button": "Salin",
        "copied": "Tersalin",
        "carrier_link": "Lacak di situs {carrier}",
        "new_tab": "(membuka tab baru)",
        "history": "Riwayat perjalanan",
        "no_events": "Belum ada update dari kurir.",
        "older_events": "{n} update lebih lama ada di situs kurir.",
        "parcels": "Pesanan ini dikirim dalam {n} paket:",
        "this_parcel": "paket ini",
        "help": "Butuh bantuan?",
        "whatsapp": "Chat kami di WhatsApp",
        "whatsapp_text": "Halo {shop}, saya mau tanya tentang pesanan {order} (resi {number}).",
        "email_us": "Email kami",
        "hours": "Jam layanan: {hours}",
        "closed_now": "Sekarang di luar jam layanan — pesanmu tetap kami terima dan kami balas "
        "secepatnya.",
        "faq": "Seputar pengiriman & retur",
        "return_policy": "Kebijakan pengembalian barang",
        "website": "Kunjungi toko",
        "prefs": "Notifikasi",
        "prefs_intro": "Kabar pengiriman pesanan ini kami kirim lewat:",
        "prefs_none": "Tidak ada notifikasi yang kami kirim untukmu.",
        "on": "Aktif",
        "off": "Mati",
        "turn_off": "Matikan {channel}",
        "turn_on": "Aktifkan {channel}",
        "hint_keyword": "Balas MULAI ke nomor kami untuk mengaktifkan lagi.",
        "hint_provider": "Pesan ke alamat ini tidak sampai. Hubungi kami untuk memperbaruinya.",
        "off_all": "Matikan semua notifikasi",
        "saved_off": "Notifikasi {channel} dimatikan.",
        "saved_on": "Notifikasi {channel} diaktifkan lagi.",
        "saved_all": "Semua notifikasi dimatikan. Kamu tetap bisa memantau paket di halaman ini.",
        "ch_whatsapp": "WhatsApp",
        "ch_sms": "SMS",
        "ch_email": "Email",
        "private": "Jangan bagikan link halaman ini: siapa pun yang memegangnya bisa melihat "
        "status paketmu.",
        "lookup_link": "Lacak pesanan lain",
        "lookup_title": "Lacak pesanan",
        "lookup_intro": "Masukkan nomor pesanan serta email atau nomor HP yang kamu pakai saat "
        "belanja.",
        "order_label": "Nomor pesanan",
        "order_hint": "Contoh: INV/2026/11/0042",
        "contact_label": "Email atau nomor HP",
        "contact_hint": "Contoh: 0812 3456 7890 atau nama@email.com",
        "find": "Cari pesanan",
        "lookup_missing": "Isi nomor pesanan dan email atau nomor HP, ya.",
        "lookup_not_found": "Kami belum menemukan pesanan dengan data itu. Periksa lagi nomor "
        "pesanan dan email atau nomor HP yang dipakai saat belanja.",
        "found_title": "Pesanan ditemukan",
        "found_order": "Pesanan {order} dari {shop}",
        "found_no_parcels": "Pesanan ini sedang disiapkan. Link pelacakan kami kirim begitu "
        "paket dikirim.",
        "track": "Lacak",
        "limited_title": "Terlalu banyak percobaan",
        "limited": "Demi keamanan pesananmu, coba lagi dalam {wait}. Maaf membuatmu menunggu.",
        "minutes": "{n} menit",
        "seconds": "{n} detik",
        "missing_title": "Link pelacakan tidak ditemukan",
        "missing": "Mungkin link-nya terpotong saat disalin. Buka lagi link dari pesan kami, "
        "atau cari pesananmu dengan nomor pesanan.",
        "forbidden_title": "Perubahan tidak disimpan",
        "forbidden": "Halaman ini sudah terlalu lama terbuka atau datang dari situs lain. Muat "
        "ulang halaman pelacakan lalu coba lagi.",
        "back": "Kembali ke halaman pelacakan",
        "unsub_q": "Berhenti menerima email tentang pesanan?",
        "unsub_btn": "Berhenti berlangganan",
        "unsub_done": "Anda tidak akan menerima email lagi dari kami.",
        "not_found": "Link pelacakan tidak ditemukan.",
    },
    "en": {
        "other_lang": "Bahasa Indonesia",
        "other_lang_code": "id",
        "title": "Track your parcel",
        "hello": "Hi {name}!",
        "hello_anon": "Hi there!",
        "order_from": "Order {order} from {shop}",
        "progress": "Delivery progress",
        "step_ordered": "Ordered",
        "step_shipped": "Shipped",
        "step_in_transit": "In transit",
        "step_out_for_delivery": "Out for delivery",
        "step_delivered": "Delivered",
        "done": "done",
        "now": "now",
        "eta": "Estimated delivery",
        "today": "today",
        "tomorrow": "tomorrow",
        "eta_passed": "passed",
        "delivered_on": "Delivered on",
        "note_delayed": "Your parcel is running a little late. We're sorry for the "
        "inconvenience — we're keeping an eye on it for you.",
        "note_pending": "We've handed your parcel to the carrier. Its status shows up here as "
        "soon as they scan it.",
        "note_info_received": "We've handed your parcel to the carrier. Its status shows up here "
        "as soon as they scan it.",
        "note_out_for_delivery": "The courier is on the way to you today.",
        "note_failed_attempt": "The courier couldn't deliver your parcel. They usually try again; "
        "please make sure someone can receive it. Need a hand? Message us.",
        "note_available_for_pickup": "Your parcel is waiting to be picked up.",
        "note_available_for_pickup_at": "Your parcel is waiting to be picked up at {place}.",
        "note_exception": "There's a problem with your delivery. We're sorry for the "
        "inconvenience — message us and we'll check with the carrier.",
        "note_returned_to_sender": "Your parcel is coming back to us. We're sorry for the "
        "inconvenience; message us to arrange a new delivery or a refund.",
        "note_expired": "The carrier hasn't sent news for a while. If your parcel hasn't "
        "arrived, message us and we'll look into it.",
        "note_delivered": "Your parcel has arrived. Thank you for shopping at {shop}!",
        "carrier": "Carrier",
        "number": "Tracking number",
        "order": "Order number",
        "copy_button": "Copy",
        "copied": "Copied",
        "carrier_link": "Track on the {carrier} website",
        "new_tab": "(opens a new tab)",
        "history": "Journey",
        "no_events": "No update from the carrier yet.",
        "older_events": "{n} older updates are on the carrier's website.",
        "parcels": "This order ships in {n} parcels:",
        "this_parcel": "this parcel",
        "help": "Need help?",
        "whatsapp": "Chat with us on WhatsApp",
        "whatsapp_text": "Hi {shop}, I have a question about order {order} (tracking number "
        "{number}).",
        "email_us": "Email us",
        "hours": "Service hours: {hours}",
        "closed_now": "We're outside service hours now — send your message anyway and we'll "
        "reply as soon as we're back.",
        "faq": "Shipping & returns",
        "return_policy": "Return policy",
        "website": "Visit the shop",
        "prefs": "Notifications",
        "prefs_intro": "We send news about this order by:",
        "prefs_none": "We don't send you any notifications.",
        "on": "On",
        "off": "Off",
        "turn_off": "Turn off {channel}",
        "turn_on": "Turn on {channel}",
        "hint_keyword": "Reply START to our number to turn it back on.",
        "hint_provider": "Messages to this address could not be delivered. Contact us to update "
        "it.",
        "off_all": "Turn off all notifications",
        "saved_off": "{channel} notifications turned off.",
        "saved_on": "{channel} notifications turned back on.",
        "saved_all": "All notifications turned off. You can still follow your parcel here.",
        "ch_whatsapp": "WhatsApp",
        "ch_sms": "SMS",
        "ch_email": "Email",
        "private": "Don't share the link to this page: anyone who has it can see your parcel's "
        "status.",
        "lookup_link": "Track another order",
        "lookup_title": "Track an order",
        "lookup_intro": "Enter your order number and the email or phone number you used at "
        "checkout.",
        "order_label": "Order number",
        "order_hint": "For example: INV/2026/11/0042",
        "contact_label": "Email or phone number",
        "contact_hint": "For example: 0812 3456 7890 or name@email.com",
        "find": "Find my order",
        "lookup_missing": "Please enter the order number and an email or phone number.",
        "lookup_not_found": "We couldn't find an order with those details. Please check the "
        "order number and the email or phone number used at checkout.",
        "found_title": "Order found",
        "found_order": "Order {order} from {shop}",
        "found_no_parcels": "This order is being prepared. We'll send the tracking link as soon "
        "as it ships.",
        "track": "Track",
        "limited_title": "Too many attempts",
        "limited": "To keep your order safe, please try again in {wait}. Sorry for the wait.",
        "minutes": "{n} minutes",
        "seconds": "{n} seconds",
        "missing_title": "Tracking link not found",
        "missing": "The link may have been cut off when it was copied. Open the link in our "
        "message again, or find your order by its number.",
        "forbidden_title": "Change not saved",
        "forbidden": "This page was open too long or the request came from another site. "
        "Reload the tracking page and try again.",
        "back": "Back to the tracking page",
        "unsub_q": "Stop receiving emails about your orders?",
        "unsub_btn": "Unsubscribe",
        "unsub_done": "You will not receive further emails from us.",
        "not_found": "This tracking link was not found.",
    },
}
"""Locale -> key -> text. Both locales have the same keys (a test checks)."""
