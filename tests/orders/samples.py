"""Order files as shops send them, shared by the reader and importer tests."""

HEADER = (
    "order_id,order_number,status,paid_at,total,currency,customer_name,phone,email,locale,"
    "timezone,carrier,courier,tracking_number,tracking_url"
)

MIXED = (
    "\n".join(
        [
            HEADER,
            "A-1,INV/1,paid,2026-11-30T10:00:00+07:00,150000,IDR,Rina,0812-3456-7890,rina@example.com,id,"
            "Asia/Jakarta,binderbyte,jne,JP0000000001,",
            "A-2,INV/2,paid,,99000,IDR,Budi,0812,budi@example.com,id,,binderbyte,jne,JP0000000002,",
            "A-3,INV/3,paid,,99000,IDR,Sari,0813-1111-2222,sari@example,id,,binderbyte,jne,JP0000000003,",
            "A-4,INV/4,paid,,75000,IDR,Dewi,0857-1234-5678,,id,,kurir_x,,JP0000000004,",
            ",INV/5,paid,,75000,IDR,Tono,0857-9999-0000,,id,,binderbyte,jne,JP0000000005,",
            "A-6,INV/6,paid,,10.000,IDR,Ayu,0821-5555-6666,,id,Asia/Jakrta,simulator,,SIM-6,",
            "A-7,INV/7,pending,,20000,IDR,Eko,0821-7777-8888,eko@example.com,en,,,,,",
        ]
    )
    + "\n"
)
