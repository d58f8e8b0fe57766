"""The fixed lists that policy files, requests and explanations name: each term with its Chinese and English label.

Each list is a `Term` enum: a member is the word itself (a `str`, the same in JSON, YAML and the database) and
carries `.zh` and `.en`. Policy files may only use these values; a new term is added here first, with both labels.
`Term.labels()` gives a list as a mapping (term -> (中文, English)).
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import EnumType, StrEnum
from types import MappingProxyType


class _Listed(EnumType):
    def __contains__(cls, value: object) -> bool:
        # a plain string is in the list when it is one of the terms (as Python 3.12 answers; 3.11 would refuse it)
        try:
            return value in cls._value2member_map_
        except TypeError:  # not a string at all
            return False


class Term(StrEnum, metaclass=_Listed):
    """A term of one fixed list: the word requests and policy files use, with its Chinese and English label."""

    zh: str
    en: str

    def __new__(cls, value: str, zh: str, en: str) -> Term:
        member = str.__new__(cls, value)
        member._value_ = value
        member.zh, member.en = zh, en
        return member

    @classmethod
    def labels(cls) -> Mapping[str, tuple[str, str]]:
        """Each term of the list with its (中文, English) label, in the list's order."""
        return MappingProxyType({term.value: (term.zh, term.en) for term in cls})


class Category(Term):
    """What a settlement line pays for."""

    medical_service = "medical_service", "医疗服务", "medical services"
    drug = "drug", "药品", "drugs"
    device = "device", "医疗器械", "medical devices"
    consumable = "consumable", "医用耗材", "medical consumables"


class InstitutionKind(Term):
    """What a designated institution is."""

    hospital = "hospital", "定点医院", "designated hospital"
    clinic = "clinic", "社区医疗机构", "community clinic"
    pharmacy = "pharmacy", "定点药店", "designated pharmacy"


class Scheme(Term):
    """The insurance scheme an enrolment is in."""

    employee = "employee", "职工医保", "employee scheme"
    resident = "resident", "城乡居民医保", "resident scheme"


class Relation(Term):
    """A family member's relation to the account owner (家庭共济) or to the deceased (heirs)."""

    spouse = "spouse", "配偶", "spouse"
    parent = "parent", "父母", "parent"
    child = "child", "子女", "child"
    sibling = "sibling", "兄弟姐妹", "sibling"
    grandparent = "grandparent", "祖父母、外祖父母", "grandparent"
    grandchild = "grandchild", "孙子女、外孙子女", "grandchild"


class Channel(Term):
    """Where a person asks for a service."""

    counter = "counter", "经办机构窗口", "agency counter"
    terminal = "terminal", "自助机具", "self-service terminal"
    online = "online", "网上服务平台", "online service site"
    app = "app", "手机 App", "mobile app"
    miniprogram = "miniprogram", "小程序", "mini-program"


class WithdrawalReason(Term):
    """Why the balance of a personal account is withdrawn."""

    general = "general", "一般情形", "general case"
    death = "death", "参保人死亡（余额由继承人继承）", "death of the insured (balance to the heirs)"
    emigration = "emigration", "出国（境）定居", "settling abroad"
    transfer_out = "transfer_out", "转出且个人账户无法转移", "moving out where the account cannot be transferred"


class ReimbursementReason(Term):
    """Why expenses paid in cash are claimed back."""

    cross_region = "cross_region", "异地就医未直接结算", "treatment elsewhere not settled directly"
    emergency = "emergency", "急诊抢救", "emergency treatment"
    other = "other", "其他", "other"


class FilingType(Term):
    """How long a cross-region filing lasts."""

    long_term = "long_term", "长期备案", "long-term filing"
    temporary = "temporary", "临时备案", "temporary filing"


class FilingReason(Term):
    """Why a person files for treatment in another region."""

    resettled_retiree = "resettled_retiree", "异地安置退休人员", "retiree resettled elsewhere"
    long_term_resident = "long_term_resident", "异地长期居住人员", "long-term resident elsewhere"
    posted_worker = "posted_worker", "常驻异地工作人员", "worker posted elsewhere"
    referral = "referral", "异地转诊就医人员", "referred for treatment elsewhere"
    emergency = "emergency", "异地急诊抢救人员", "emergency treatment elsewhere"
    other = "other", "其他临时外出就医人员", "other temporary treatment elsewhere"


class DocumentType(Term):
    """A paper an application or a filing may need."""

    id_card = "id_card", "身份证原件", "resident ID card (original)"
    id_card_copy = "id_card_copy", "身份证复印件", "copy of the resident ID card"
    insurance_card = "insurance_card", "医保卡（社保卡）", "medical-insurance card"
    bank_card = "bank_card", "本人银行卡", "the applicant's bank card"
    medical_invoice = "medical_invoice", "医疗费用发票", "medical invoices"
    diagnosis = "diagnosis", "诊断证明（加盖医院章）", "diagnosis certificate (hospital-stamped)"
    expense_list = "expense_list", "费用清单（加盖医院章）", "itemised expense list (hospital-stamped)"
    photo = "photo", "近期免冠照片", "recent passport-style photo"
    death_certificate = "death_certificate", "死亡证明", "death certificate"
    heir_proof = "heir_proof", "继承权证明", "proof of inheritance"
    emigration_proof = "emigration_proof", "出国（境）定居证明", "proof of settling abroad"
    transfer_proof = "transfer_proof", "个人账户无法转移的证明", "proof that the account cannot be transferred"
    filing_proof = "filing_proof", "异地就医备案凭证", "proof of the cross-region filing"
    residence_proof = "residence_proof", "异地居住证明", "proof of residence elsewhere"
    referral_letter = "referral_letter", "转诊证明", "referral letter"


_long, _temporary = FilingType.long_term, FilingType.temporary
FILING_TYPE_OF: Mapping[FilingReason, FilingType] = MappingProxyType({  # API contract; 医保发〔2022〕22号
    FilingReason.resettled_retiree: _long, FilingReason.long_term_resident: _long, FilingReason.posted_worker: _long,
    FilingReason.referral: _temporary, FilingReason.emergency: _temporary, FilingReason.other: _temporary,
})


def label(terms: Mapping[str, tuple[str, str]] | type[Term], value: str) -> tuple[str, str]:
    """The Chinese and English label of a term, or the term itself when it is not in the list."""
    if isinstance(terms, type):
        term = terms._value2member_map_.get(value) if isinstance(value, str) else None
        return (term.zh, term.en) if term is not None else (value, value)
    return terms.get(value, (value, value))
