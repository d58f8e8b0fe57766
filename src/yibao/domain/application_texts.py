"""The wording of an application's steps (申请进度), in Chinese and English: each step's title and the message that
tells the person what happened, with the facts they need (amounts, the voucher code, the documents missing).
"""

from __future__ import annotations

import datetime as dt

from yibao.domain import vocabulary as v
from yibao.domain.applications import Application, ApplicationStatus
from yibao.domain.clock import SHANGHAI
from yibao.domain.money import yuan

S = ApplicationStatus
PAYEE_CHANGED = "payee_changed"  # why an approved case went back to review

STEP_TITLES = {
    S.DRAFT: ("申请已保存为草稿", "Application saved as a draft"),
    S.SUBMITTED: ("申请已受理", "Application received"),
    S.UNDER_REVIEW: ("申请审核中", "Application under review"),
    S.SUPPLEMENT_REQUESTED: ("请补充材料", "Documents needed"),
    S.RESUBMITTED: ("补充材料已收到", "Supplement received"),
    S.APPROVED: ("申请已审核通过", "Application approved"),
    S.REJECTED: ("申请未通过审核", "Application rejected"),
    S.DISBURSING: ("款项已提交银行拨付", "Payout sent to the bank"),
    S.PAID: ("款项已到账", "Payout made"),
    S.FAILED: ("银行拨付失败", "Payout failed"),
    S.WITHDRAWN: ("申请已撤回", "Application withdrawn"),
}
CASH_TITLES = {
    S.DISBURSING: ("取现凭证已开具", "Cash voucher issued"),
    S.PAID: ("现金已兑付", "Cash paid out"),
    S.FAILED: ("取现凭证已过期", "Cash voucher expired"),
}
KIND_LABELS = {"withdrawal": ("个人账户支取", "withdrawal"), "reimbursement": ("零星报销", "reimbursement claim")}
VOUCHER_TITLES = {  # the printed vouchers of an application's steps
    "approval": ("医疗保险申请审核通过凭证", "Application approval voucher"),
    "payment": ("医疗保险拨付凭证", "Payment voucher"),
    "cash_voucher": ("异地就医取现凭证", "Cross-region cash voucher"),
    "redemption": ("取现兑付凭证", "Cash redemption voucher"),
}
VOUCHER_KIND_LABELS = {"withdrawal": ("个人账户支取", "withdrawal"), "reimbursement": ("零星报销", "reimbursement")}
PAYEE_CHANGED_NOTE = "收款银行账户已变更 / the payee bank account changed"
WINDOW_UNITS = {"months": ("{} 个月", "{} months"), "days": ("{} 日", "{} days")}  # a rule's 申请期限


def labels(terms, values) -> tuple[str, str]:
    """The terms' labels as one Chinese and one English list."""
    pairs = [v.label(terms, x) for x in values]
    return "、".join(zh for zh, _ in pairs), ", ".join(en for _, en in pairs)


def message(app: Application, status: str, note: str, data: dict) -> tuple[str, str]:
    """The body of the message for a step, in both languages, with the facts the person needs."""
    kind_zh, kind_en = KIND_LABELS[app.kind]
    zh, en = [f"您的{kind_zh}申请（{app.id}）"], [f"Your {kind_en} ({app.id})"]
    if status == S.SUPPLEMENT_REQUESTED:
        missing_zh, missing_en = labels(v.DocumentType, data.get("missing", []))
        zh.append(f"需补充材料：{missing_zh}。")
        en.append(f"needs these documents: {missing_en}.")
    elif status == S.DISBURSING and data.get("cash_voucher_code"):
        until = _local(data["valid_until"])
        where_zh = data.get("institution_code") or "定点医疗机构或经办机构窗口"
        where_en = data.get("institution_code") or "a designated institution or the agency's counter"
        zh.append(f"已开具取现凭证，校验码 {data['cash_voucher_code']}，金额 {yuan(data['amount_fen'])}，"
                  f"请于 {until} 前持凭证、医保卡和身份证到 {where_zh} 办理（需预约的机构请先预约）。")
        en.append(f"has a cash voucher: code {data['cash_voucher_code']}, {yuan(data['amount_fen'])}; bring it with "
                  f"your card and ID to {where_en} before {until} (book a slot where appointments are needed).")
    elif status == S.PAID and data.get("cash_voucher_code"):
        where = data.get("institution_code") or "经办机构窗口"
        zh.append(f"已凭取现凭证 {data['cash_voucher_code']} 在 {where} 兑付现金 {yuan(data['paid_fen'])}。")
        en.append(f"{yuan(data['paid_fen'])} was paid in cash against voucher {data['cash_voucher_code']} at "
                  f"{data.get('institution_code') or 'the agency counter'}.")
    elif status == S.FAILED and data.get("cash_voucher_code"):
        until = _local(data["valid_until"])
        zh.append(f"取现凭证已于 {until} 过期未兑付，款项已退回个人账户，可申请重新开具。")
        en.append(f"the cash voucher expired unused at {until}; the amount is back in the account and a new "
                  "voucher may be asked for.")
    elif status in (S.APPROVED, S.DISBURSING):
        zh.append(f"金额 {yuan(app.approved_fen or 0)}，手续费 {yuan(app.fee_fen)}，实付 {yuan(app.payout_fen)}。")
        en.append(f"amount {yuan(app.approved_fen or 0)}, fee {yuan(app.fee_fen)}, paid out {yuan(app.payout_fen)}.")
        if data.get("expected_arrival_date"):
            zh.append(f"预计到账日期 {data['expected_arrival_date']}（按工作日计算）。")
            en.append(f"Expected to arrive by {data['expected_arrival_date']} (working days).")
    elif status == S.PAID:
        zh.append(f"已拨付 {yuan(app.payout_fen)} 至尾号 {data.get('account_tail', '')} 的银行账户。")
        en.append(f"{yuan(app.payout_fen)} was paid to the bank account ending {data.get('account_tail', '')}.")
    elif status == S.FAILED:
        zh.append(f"银行退回：{data.get('bank_reason', '')}。款项已退回个人账户，请核对银行账户后重新发起拨付。")
        en.append(f"the bank returned it: {data.get('bank_reason', '')}. The amount is back in the account; "
                  "check the bank account and ask for the payout again.")
    elif data.get("reason") == PAYEE_CHANGED:
        zh.append("的收款银行账户在拨付前已变更，申请将重新审核，审核通过后拨付至新的账户。")
        en.append("will be reviewed again: the bank account it pays to changed before the payout was sent; once "
                  "approved again it pays the new account.")
        return "".join(zh), " ".join(en)
    elif status == S.REJECTED:
        zh.append("未通过审核。")
        en.append("was rejected.")
    else:
        title_zh, title_en = STEP_TITLES[S(status)]
        zh.append(f"：{title_zh}。")
        en.append(f": {title_en.lower()}.")
    if note:
        zh.append(f"说明：{note}")
        en.append(f"Note: {note}")
    return "".join(zh), " ".join(en)


def _local(iso: str) -> str:
    return local_minute(dt.datetime.fromisoformat(iso))


def local_minute(moment: dt.datetime) -> str:
    """A moment as the person reads it: Shanghai time to the minute."""
    return moment.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")


def cash_voucher_lapsed(valid_until: dt.datetime) -> str:
    """Why a cash payout failed: its voucher ran out unredeemed."""
    return f"取现凭证已于 {local_minute(valid_until)} 过期"


def title(status: str, data: dict) -> tuple[str, str]:
    """The title of the message for a step: a cash payout's steps are named for its voucher."""
    if data.get("cash_voucher_code"):
        return CASH_TITLES.get(S(status), STEP_TITLES[S(status)])
    return STEP_TITLES[S(status)]
