"""The fixed lists that policy files, requests and explanations name: each term with its Chinese and English label.

Policy files may only use these values; a new term is added here first, with both labels.
"""

from __future__ import annotations

from types import MappingProxyType


def _terms(**labels: tuple[str, str]) -> MappingProxyType:
    return MappingProxyType(labels)


CATEGORIES = _terms(  # what a settlement line pays for
    medical_service=("医疗服务", "medical services"),
    drug=("药品", "drugs"),
    device=("医疗器械", "medical devices"),
    consumable=("医用耗材", "medical consumables"),
)

INSTITUTION_KINDS = _terms(
    hospital=("定点医院", "designated hospital"),
    clinic=("社区医疗机构", "community clinic"),
    pharmacy=("定点药店", "designated pharmacy"),
)

SCHEMES = _terms(employee=("职工医保", "employee scheme"), resident=("城乡居民医保", "resident scheme"))

RELATIONS = _terms(  # family grants (家庭共济)
    spouse=("配偶", "spouse"),
    parent=("父母", "parent"),
    child=("子女", "child"),
    sibling=("兄弟姐妹", "sibling"),
    grandparent=("祖父母、外祖父母", "grandparent"),
    grandchild=("孙子女、外孙子女", "grandchild"),
)

CHANNELS = _terms(
    counter=("经办机构窗口", "agency counter"),
    terminal=("自助机具", "self-service terminal"),
    online=("网上服务平台", "online service site"),
    app=("手机 App", "mobile app"),
    miniprogram=("小程序", "mini-program"),
)

WITHDRAWAL_REASONS = _terms(
    general=("一般情形", "general case"),
    death=("参保人死亡（余额由继承人继承）", "death of the insured (balance to the heirs)"),
    emigration=("出国（境）定居", "settling abroad"),
    transfer_out=("转出且个人账户无法转移", "moving out where the account cannot be transferred"),
)

REIMBURSEMENT_REASONS = _terms(
    cross_region=("异地就医未直接结算", "treatment elsewhere not settled directly"),
    emergency=("急诊抢救", "emergency treatment"),
    other=("其他", "other"),
)

FILING_TYPES = _terms(long_term=("长期备案", "long-term filing"), temporary=("临时备案", "temporary filing"))

FILING_REASONS = _terms(
    resettled_retiree=("异地安置退休人员", "retiree resettled elsewhere"),
    long_term_resident=("异地长期居住人员", "long-term resident elsewhere"),
    posted_worker=("常驻异地工作人员", "worker posted elsewhere"),
    referral=("异地转诊就医人员", "referred for treatment elsewhere"),
    emergency=("异地急诊抢救人员", "emergency treatment elsewhere"),
    other=("其他临时外出就医人员", "other temporary treatment elsewhere"),
)

FILING_TYPE_OF = MappingProxyType({  # which type of filing each reason is (API contract; 医保发〔2022〕22号)
    "resettled_retiree": "long_term", "long_term_resident": "long_term", "posted_worker": "long_term",
    "referral": "temporary", "emergency": "temporary", "other": "temporary",
})

DOCUMENT_TYPES = _terms(
    id_card=("身份证原件", "resident ID card (original)"),
    id_card_copy=("身份证复印件", "copy of the resident ID card"),
    insurance_card=("医保卡（社保卡）", "medical-insurance card"),
    bank_card=("本人银行卡", "the applicant's bank card"),
    medical_invoice=("医疗费用发票", "medical invoices"),
    diagnosis=("诊断证明（加盖医院章）", "diagnosis certificate (hospital-stamped)"),
    expense_list=("费用清单（加盖医院章）", "itemised expense list (hospital-stamped)"),
    photo=("近期免冠照片", "recent passport-style photo"),
    death_certificate=("死亡证明", "death certificate"),
    heir_proof=("继承权证明", "proof of inheritance"),
    emigration_proof=("出国（境）定居证明", "proof of settling abroad"),
    transfer_proof=("个人账户无法转移的证明", "proof that the account cannot be transferred"),
    filing_proof=("异地就医备案凭证", "proof of the cross-region filing"),
    residence_proof=("异地居住证明", "proof of residence elsewhere"),
    referral_letter=("转诊证明", "referral letter"),
)


def label(terms: MappingProxyType, value: str) -> tuple[str, str]:
    """The Chinese and English label of a term, or the term itself when it is not in the list."""
    return terms.get(value, (value, value))
