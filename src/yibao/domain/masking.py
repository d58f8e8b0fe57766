"""Masking of ID numbers, phones and bank numbers for every view but the owner's own."""


def mask_id_number(number: str) -> str:
    return number[:4] + "*" * (len(number) - 8) + number[-4:] if number else number


def mask_phone(phone: str) -> str:
    return phone[:3] + "****" + phone[-4:] if phone and len(phone) == 11 else "*" * len(phone or "")


def mask_account_no(number: str) -> str:
    return "*" * (len(number) - 4) + number[-4:] if number else number
