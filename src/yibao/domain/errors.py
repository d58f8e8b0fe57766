"""Domain errors: a stable dotted code, an HTTP-ish status, zh-CN and en messages, and the facts.

Every error the product reports to a person is one of these classes. Messages are
templates filled from the facts, so the facts travel with the error to the API
(problem+json), the CLI and the web pages.
"""

from __future__ import annotations

from typing import Any, ClassVar


class DomainError(Exception):
    code: ClassVar[str] = "domain.error"
    status: ClassVar[int] = 422
    message_zh: ClassVar[str] = "请求无法处理"
    message_en: ClassVar[str] = "The request cannot be processed"

    def __init__(self, **facts: Any) -> None:
        self.facts = facts
        super().__init__(self.en)

    @property
    def zh(self) -> str:
        return self.message_zh.format(**self.facts)

    @property
    def en(self) -> str:
        return self.message_en.format(**self.facts)


class NotFound(DomainError):
    status = 404


class Conflict(DomainError):
    status = 409


class Invalid(DomainError):
    status = 422


class Unauthorized(DomainError):
    status = 401


class Forbidden(DomainError):
    status = 403


# --- request and auth -------------------------------------------------------


class RequestInvalid(Invalid):
    code = "request.invalid"
    message_zh = "请求内容不正确：{summary}"
    message_en = "The request is not valid: {summary}"


class ConcurrentChange(Conflict):
    code = "request.concurrent"
    message_zh = "另一项操作同时修改了相同记录，请重试"
    message_en = "Another request changed the same record at the same time; please retry"


class AuthRequired(Unauthorized):
    code = "auth.required"
    message_zh = "请先登录"
    message_en = "Please sign in first"


class BadCredentials(Unauthorized):
    code = "auth.bad_credentials"
    message_zh = "用户名或密码错误"
    message_en = "Wrong username or password"


class TokenInvalid(Unauthorized):
    code = "auth.token_invalid"
    message_zh = "登录已失效，请重新登录"
    message_en = "Your session is no longer valid; please sign in again"


class AccessForbidden(Forbidden):
    code = "auth.forbidden"
    message_zh = "您无权执行此操作"
    message_en = "You are not allowed to do this"


class UsernameTaken(Conflict):
    code = "user.duplicate"
    message_zh = "该用户名已被使用"
    message_en = "The username is already taken"


class RoleLinkMissing(Invalid):
    code = "user.link_missing"
    message_zh = "角色 {role} 的用户必须关联 {link}"
    message_en = "A user with role {role} must be linked to {link}"


class PasswordTooWeak(Invalid):
    code = "user.password_weak"
    message_zh = "密码至少需要 {min_length} 位"
    message_en = "The password must have at least {min_length} characters"


# --- identity and registry --------------------------------------------------


class IdNumberInvalid(Invalid):
    code = "person.id_number_invalid"
    message_zh = "身份证号码无效：{reason_zh}"
    message_en = "The resident ID number is not valid: {reason_en}"


class NameInvalid(Invalid):
    code = "person.name_invalid"
    message_zh = "姓名须为 1 至 {max_length} 个字符，不能含数字或符号"
    message_en = "The name must be 1 to {max_length} characters, without digits or symbols"


class PhoneInvalid(Invalid):
    code = "person.phone_invalid"
    message_zh = "手机号码应为 11 位中国大陆手机号（1 开头）"
    message_en = "The phone must be an 11-digit mainland mobile number starting with 1"


class RegionUnknown(Invalid):
    code = "region.unknown"
    message_zh = "行政区划代码不存在"
    message_en = "The region is not a known GB/T 2260 region code"


class PersonNotFound(NotFound):
    code = "person.not_found"
    message_zh = "未找到该参保人"
    message_en = "No such insured person"


class PersonDuplicate(Conflict):
    code = "person.duplicate"
    message_zh = "该身份证号码已登记参保人"
    message_en = "A person with this ID number is already registered"


class UsccInvalid(Invalid):
    code = "employer.uscc_invalid"
    message_zh = "统一社会信用代码无效：{reason_zh}"
    message_en = "The unified social credit code is not valid: {reason_en}"


class EmployerNotFound(NotFound):
    code = "employer.not_found"
    message_zh = "未找到该参保单位"
    message_en = "No such employer (unit)"


class EmployerDuplicate(Conflict):
    code = "employer.duplicate"
    message_zh = "该统一社会信用代码已登记单位"
    message_en = "A unit with this unified social credit code is already registered"


class EmployerIncomplete(Invalid):
    code = "employer.incomplete"
    message_zh = "单位信息不完整，请先补全：{missing_zh}"
    message_en = "The unit's data is incomplete; complete these first: {missing_en}"


class EnrollmentInvalid(Invalid):
    code = "enrollment.invalid"
    message_zh = "参保登记信息不正确：{reason_zh}"
    message_en = "The enrolment is not valid: {reason_en}"


class EnrollmentDuplicate(Conflict):
    code = "enrollment.duplicate"
    message_zh = "该参保人已有有效的{scheme_zh}参保登记"
    message_en = "The person already has an active {scheme} enrolment"


class EnrollmentNotFound(NotFound):
    code = "enrollment.not_found"
    message_zh = "未找到该参保登记"
    message_en = "No such enrolment"


class EnrollmentWrongState(Conflict):
    code = "enrollment.wrong_state"
    message_zh = "参保登记当前状态为 {status}，不能执行 {action}"
    message_en = "The enrolment is {status}; it cannot {action}"


class InstitutionNotFound(NotFound):
    code = "institution.not_found"
    message_zh = "未找到该定点机构"
    message_en = "No such institution"


class InstitutionDuplicate(Conflict):
    code = "institution.duplicate"
    message_zh = "该机构编码已存在"
    message_en = "An institution with this code already exists"


class InstitutionInvalid(Invalid):
    code = "institution.invalid"
    message_zh = "机构信息不正确：{reason_zh}"
    message_en = "The institution is not valid: {reason_en}"


class AgencyNotFound(NotFound):
    code = "agency.not_found"
    message_zh = "未找到该地区的医保经办机构"
    message_en = "No insurance agency is listed for the region"


# --- cards, e-vouchers, bank accounts ---------------------------------------


class CardNotFound(NotFound):
    code = "card.not_found"
    message_zh = "未找到该医保卡"
    message_en = "No such card"


class CardWrongState(Conflict):
    code = "card.wrong_state"
    message_zh = "医保卡当前状态为“{status_zh}”，不能{action_zh}"
    message_en = "The card is {status}; it cannot be used to {action}"


class CardLost(CardWrongState):
    code = "card.lost"
    message_zh = "该医保卡已挂失，不能{action_zh}"
    message_en = "The card has been reported lost; it cannot be used to {action}"


class CardFrozen(CardWrongState):
    code = "card.frozen"
    message_zh = "该医保卡已被经办机构冻结，不能{action_zh}"
    message_en = "The card is frozen by the agency; it cannot be used to {action}"


class CardExpired(CardWrongState):
    code = "card.expired"
    message_zh = "该医保卡已于 {expires_on} 过期，不能{action_zh}，请办理换卡"
    message_en = "The card expired on {expires_on}; it cannot be used to {action}; please replace it"


class CardReplaced(CardWrongState):
    code = "card.replaced"
    message_zh = "该医保卡已补换，旧卡永久作废"
    message_en = "The card has been replaced; the old card is void for ever"


class CardNotActive(CardWrongState):
    code = "card.not_active"
    message_zh = "该医保卡尚未激活，不能{action_zh}"
    message_en = "The card is not activated yet; it cannot be used to {action}"


class CardIdentityMismatch(Invalid):
    code = "card.identity_mismatch"
    message_zh = "身份证号码与持卡人不符"
    message_en = "The ID number does not match the card holder"


class PinFormatInvalid(Invalid):
    code = "card.pin_invalid"
    message_zh = "密码须为 6 位数字"
    message_en = "The PIN must be 6 digits"


class PinTooSimple(Invalid):
    code = "card.pin_trivial"
    message_zh = "密码过于简单（{why_zh}），请另设"
    message_en = "The PIN is too easy to guess ({why_en}); choose another"


class PinWrong(Invalid):
    code = "card.pin_wrong"
    message_zh = "密码错误，还可尝试 {tries_left} 次"
    message_en = "Wrong PIN; {tries_left} tries left"


class PinLocked(Forbidden):
    code = "card.pin_locked"
    message_zh = "密码错误次数过多，密码已锁定，请到经办机构解锁"
    message_en = "Too many wrong PINs; PIN use is locked until the agency unlocks it"


class FreezeReasonMissing(Invalid):
    code = "card.freeze_reason_missing"
    message_zh = "冻结医保卡须说明原因"
    message_en = "Freezing a card needs a reason"


class EVoucherIdentityMismatch(Invalid):
    code = "evoucher.identity_mismatch"
    message_zh = "实名核验未通过：姓名或身份证号码与参保人不符"
    message_en = "Real-name check failed: the name or ID number does not match the insured person"


class EVoucherChannelInvalid(Invalid):
    code = "evoucher.channel_invalid"
    message_zh = "渠道不支持，可选：app、miniprogram、web"
    message_en = "The channel is not supported; use app, miniprogram or web"


class EVoucherInvalid(Unauthorized):
    code = "evoucher.invalid"
    message_zh = "医保电子凭证无效或已失效"
    message_en = "The e-voucher is not valid or has been revoked"


class BankAccountInvalid(Invalid):
    code = "bank_account.invalid"
    message_zh = "银行卡号无效：{reason_zh}"
    message_en = "The bank account number is not valid: {reason_en}"


class BankHolderMismatch(Invalid):
    code = "bank_account.holder_mismatch"
    message_zh = "户名须与参保人姓名一致"
    message_en = "The account holder must be the insured person"


class BankAccountDuplicate(Conflict):
    code = "bank_account.duplicate"
    message_zh = "该银行账户已关联"
    message_en = "This bank account is already linked"


class BankAccountNotFound(NotFound):
    code = "bank_account.not_found"
    message_zh = "未找到该银行账户"
    message_en = "No such bank account"


class BankNameMissing(Invalid):
    code = "bank_account.bank_missing"
    message_zh = "请填写开户银行"
    message_en = "The bank name is required"


class ClockUnavailable(NotFound):
    code = "clock.unavailable"
    message_zh = "仅测试环境可设置时钟"
    message_en = "The clock can only be set in the test environment"


# --- ledger, holds, idempotency, contributions ---------------------------------


class AccountNotFound(NotFound):
    code = "account.not_found"
    message_zh = "未找到个人账户"
    message_en = "No personal account found"


class BalanceInsufficient(Invalid):
    code = "balance.insufficient"
    message_zh = "个人账户可用余额不足：需要 {amount_fen} 分，可用 {available_fen} 分"
    message_en = "Not enough available in the personal account: {amount_fen} fen needed, {available_fen} fen available"


class QuotaExhausted(Invalid):
    code = "quota.exhausted"
    message_zh = "限额已用完：需要 {amount_fen}，剩余 {remaining_fen}"
    message_en = "The limit is used up: {amount_fen} needed, {remaining_fen} remaining"


class EntryNotFound(NotFound):
    code = "entry.not_found"
    message_zh = "未找到账务记录"
    message_en = "No ledger entry found"


class EntryAlreadyReversed(Conflict):
    code = "entry.already_reversed"
    message_zh = "该笔账务已冲正：{entry_id}"
    message_en = "This entry has already been reversed: {entry_id}"


class EntryNotReversible(Conflict):
    code = "entry.not_reversible"
    message_zh = "该类账务不能冲正（冲正记录、年度结转）：{entry_id}"
    message_en = "This kind of entry cannot be reversed (a reversal, a year end): {entry_id}"


class HoldNotFound(NotFound):
    code = "hold.not_found"
    message_zh = "未找到冻结款项"
    message_en = "No hold found"


class HoldWrongState(Conflict):
    code = "hold.wrong_state"
    message_zh = "冻结款项当前状态为 {status}，不能执行 {action}"
    message_en = "The hold is {status}; it cannot {action}"


class HoldExpired(Conflict):
    code = "hold.expired"
    message_zh = "冻结款项已于 {expires_at} 到期并释放"
    message_en = "The hold expired at {expires_at} and its amount was released"


class HoldCaptureTooLarge(Invalid):
    code = "hold.capture_exceeds"
    message_zh = "扣划金额 {amount_fen} 分须大于零且不超过冻结金额 {held_fen} 分"
    message_en = "The amount taken, {amount_fen} fen, must be above zero and at most the {held_fen} fen held"


class AmountInvalid(Invalid):
    code = "amount.invalid"
    message_zh = "金额须为正整数（分）"
    message_en = "The amount must be a positive whole number of fen"


class IdempotencyConflict(Conflict):
    code = "idempotency.conflict"
    message_zh = "该幂等键已用于另一个不同的请求"
    message_en = "The idempotency key was already used for a different request"


class ContributionInvalid(Invalid):
    code = "contribution.invalid"
    message_zh = "缴费信息不正确：{reason_zh}"
    message_en = "The contribution is not valid: {reason_en}"


class ContributionNotEnrolled(Invalid):
    code = "contribution.not_enrolled"
    message_zh = "参保人在 {period} 没有有效的参保登记"
    message_en = "The person has no active enrolment in {period}"


class PolicyRuleMissing(Invalid):
    code = "policy.rule_missing"
    message_zh = "{region} 在 {date} 没有生效的规则：{rule}"
    message_en = "No rule in force in {region} on {date}: {rule}"


class PolicyUploadInvalid(Invalid):
    code = "policy.upload_invalid"
    message_zh = "政策文件无法读取：{reason_zh}"
    message_en = "The policy upload cannot be read: {reason_en}"


class PolicyEffectiveDateInvalid(Invalid):
    code = "policy.effective_date_invalid"
    message_zh = "生效日期不正确：{reason_zh}"
    message_en = "The effective date is not valid: {reason_en}"


class PolicyCheckStale(Conflict):
    code = "policy.check_stale"
    message_zh = "检查之后现行政策或上传内容已变化，请重新上传并检查"
    message_en = "The policy in force or the upload changed since the check; upload and check it again"


class UserInactive(Conflict):
    code = "user.inactive"
    message_zh = "该用户已停用"
    message_en = "The user is deactivated already"


class RuleRefused(Invalid):
    """A rule says no. The stable code (withdrawal.not_allowed, filing.locked, …), the explanation and the
    rules cited come from the policy decision."""

    code = "policy.refused"
    message_zh = "不予办理：{explanation_zh}"
    message_en = "Not allowed: {explanation_en}"

    def __init__(self, code: str = "policy.refused", **facts) -> None:
        super().__init__(**facts)
        self.code = code


class FilingNotFound(NotFound):
    code = "filing.not_found"
    message_zh = "未找到该异地就医备案"
    message_en = "No such cross-region filing"


class FilingWrongState(Conflict):
    code = "filing.wrong_state"
    message_zh = "备案状态为 {status}，不能{action}"
    message_en = "The filing is {status}; it cannot be {action}ed"


class FilingInvalid(Invalid):
    code = "filing.invalid"
    message_zh = "备案信息不正确：{reason_zh}"
    message_en = "The filing is not valid: {reason_en}"


class GrantNotFound(NotFound):
    code = "family_grant.not_found"
    message_zh = "未找到该家庭共济授权"
    message_en = "No such family grant"


class GrantWrongState(Conflict):
    code = "family_grant.wrong_state"
    message_zh = "授权状态为 {status}，不能办理 {action}"
    message_en = "The grant is {status}: {action} does not apply to it"


class GrantDuplicate(Conflict):
    code = "family_grant.duplicate"
    message_zh = "已向该家庭成员授权"
    message_en = "This relative already holds a grant from this owner"


class GrantInvalid(Invalid):
    code = "family_grant.invalid"
    message_zh = "不能授权：{reason_zh}"
    message_en = "The grant cannot be made: {reason_en}"


class SettlementNotFound(NotFound):
    code = "settlement.not_found"
    message_zh = "未找到该结算"
    message_en = "No such settlement"


class SettlementInvalid(Invalid):
    code = "settlement.invalid"
    message_zh = "结算请求不正确：{reason_zh}"
    message_en = "The settlement request is not valid: {reason_en}"


class GrantRequired(Invalid):
    code = "family.grant_required"
    message_zh = "账户所有人未授权此人使用其个人账户（或授权已撤销）"
    message_en = "The account owner has not granted this person use of the account (or the grant was revoked)"


class RefundExceeds(Invalid):
    code = "refund.exceeds"
    message_zh = "退费金额须为正数，且不超过个人账户已付未退的 {refundable_fen} 分"
    message_en = "A refund must be positive and at most the {refundable_fen} fen the account paid and has not had back"


class StatementTooLong(Invalid):
    code = "statement.too_long"
    message_zh = "该期间的资金变动超过 {max_lines} 笔，请缩短查询期间"
    message_en = "The period has more than {max_lines} entries; please ask for a shorter period"


class YearEndNotDue(Invalid):
    code = "year_end.not_due"
    message_zh = "{year} 年尚未结束，不能结转"
    message_en = "The year {year} has not ended yet; it cannot be carried over"


class VoucherNotFound(NotFound):
    code = "voucher.not_found"
    message_zh = "校验码不存在，请核对凭证上的校验码"
    message_en = "No voucher has this verification code; check the code printed on the document"


class VoucherNotIssued(NotFound):
    code = "voucher.not_issued"
    message_zh = "该申请没有此类凭证（{kind}）：相应的办理环节尚未发生"
    message_en = "The application has no {kind} voucher: that step has not happened"


class CreditFileInvalid(Invalid):
    code = "job.file_invalid"
    message_zh = "缴费文件无法处理：{reason_zh}"
    message_en = "The contribution file cannot be processed: {reason_en}"


# --- applications: documents, review, disbursement -----------------------------------


class DocumentInvalid(Invalid):
    code = "document.invalid"
    message_zh = "材料不符合要求：{reason_zh}"
    message_en = "The document is not accepted: {reason_en}"


class DocumentTooLarge(Invalid):
    code = "document.too_large"
    message_zh = "材料文件过大：{size} 字节，上限 {limit} 字节"
    message_en = "The file is too large: {size} bytes, at most {limit}"


class DocumentNotFound(NotFound):
    code = "document.not_found"
    message_zh = "未找到该材料"
    message_en = "No such document"


class ApplicationNotFound(NotFound):
    code = "application.not_found"
    message_zh = "未找到该申请"
    message_en = "No such application"


class ApplicationInvalid(Invalid):
    code = "application.invalid"
    message_zh = "申请内容不正确：{reason_zh}"
    message_en = "The application is not valid: {reason_en}"


class ApplicationWrongState(Conflict):
    code = "application.wrong_state"
    message_zh = "申请状态为 {status}，不能执行 {action}"
    message_en = "The application is {status}; {action} is not possible now"


class ReviewNoteRequired(Invalid):
    code = "application.note_required"
    message_zh = "{action_zh}须写明理由"
    message_en = "A reason is required to {action_en}"


class BankAccountMissing(Invalid):
    code = "bank_account.missing"
    message_zh = "申请人尚未关联本人银行账户，无法拨付"
    message_en = "The applicant has no bank account linked for the payout"


class BatchNotFound(NotFound):
    code = "disbursement.batch_not_found"
    message_zh = "未找到该拨付批次"
    message_en = "No such payment batch"


class BatchEmpty(Invalid):
    code = "disbursement.nothing_to_pay"
    message_zh = "没有待拨付的已审核申请"
    message_en = "There are no approved applications waiting to be paid"


class ReturnFileInvalid(Invalid):
    code = "disbursement.return_invalid"
    message_zh = "银行回盘文件不正确：{reason_zh}"
    message_en = "The bank's return file is not valid: {reason_en}"


class CashVoucherNotFound(NotFound):
    code = "cash_voucher.not_found"
    message_zh = "未找到该取现凭证"
    message_en = "No such cash voucher"


class CashVoucherUsed(Conflict):
    code = "cash_voucher.redeemed"
    message_zh = "该取现凭证已于 {redeemed_at} 兑付，不能重复使用"
    message_en = "This cash voucher was redeemed at {redeemed_at}; it cannot be used again"


class CashVoucherExpired(Invalid):
    code = "cash_voucher.expired"
    message_zh = "该取现凭证已于 {valid_until} 过期"
    message_en = "This cash voucher expired at {valid_until}"


class AppointmentRequired(Invalid):
    code = "appointment.required"
    message_zh = "该机构办理须预约，请先预约时段"
    message_en = "This institution serves by appointment: book a time slot first"


class SlotFull(Conflict):
    code = "appointment.full"
    message_zh = "该时段已约满（{capacity} 人），请选择其他时段"
    message_en = "This time slot is full ({capacity} people); choose another"


class SlotNotFound(NotFound):
    code = "appointment.slot_not_found"
    message_zh = "未找到该预约时段"
    message_en = "No such time slot"


class CashVoucherWrongInstitution(Invalid):
    code = "cash_voucher.wrong_institution"
    message_zh = "该取现凭证须在 {institution_code} 兑付"
    message_en = "This cash voucher is redeemed at {institution_code} only"


class AppointmentNotFound(NotFound):
    code = "appointment.not_found"
    message_zh = "未找到该预约"
    message_en = "No such appointment"


class AppointmentDuplicate(Conflict):
    code = "appointment.duplicate"
    message_zh = "已预约该时段，不能重复预约"
    message_en = "This time slot is already booked for the person"


class AppointmentCancelled(Conflict):
    code = "appointment.cancelled"
    message_zh = "该预约已取消"
    message_en = "This appointment is already cancelled"


class AppointmentInvalid(Invalid):
    code = "appointment.invalid"
    message_zh = "预约信息不正确：{reason_zh}"
    message_en = "The appointment is not valid: {reason_en}"


class NoticeNotFound(NotFound):
    code = "notice.not_found"
    message_zh = "未找到该消息"
    message_en = "No such message"


# --- family consent and bank holders (identity you can trust) --------------------------------


class GrantRelationImplausible(Invalid):
    code = "family_grant.relation_implausible"
    message_zh = "所报家庭关系与登记信息不符：{reason_zh}"
    message_en = "The relation does not match the persons' records: {reason_en}"


class GrantTooManyGrantees(Invalid):
    code = "family_grant.too_many_grantees"
    message_zh = "已授权 {open_grants} 人（含待确认），最多可授权 {max_grantees} 人"
    message_en = "{open_grants} relative(s) already hold or await a grant; at most {max_grantees} may"


class BankAccountLinkedElsewhere(Conflict):
    code = "bank_account.linked_elsewhere"
    message_zh = "该银行账户已由他人绑定，请核对账号或到经办机构窗口办理"
    message_en = "This bank account is linked by someone else; check the number or see the agency's counter"


class BankVerificationFailed(Invalid):
    code = "bank_account.verification_failed"
    message_zh = "银行卡核验未通过：户名、身份证号、卡号与银行预留手机号须一致"
    message_en = "The bank did not confirm the card: name, ID number, card number and the phone held by the bank " \
                 "must match"


class BankVerificationUnavailable(Invalid):
    code = "bank_account.verification_unavailable"
    message_zh = "银行卡核验服务暂不可用，请稍后再试"
    message_en = "The bank's card verification service cannot be reached; please try again later"


class BankAccountUnlinked(Conflict):
    code = "bank_account.unlinked"
    message_zh = "该银行账户已解除绑定"
    message_en = "This bank account has been unlinked"

# --- life events, heirs and account freezes ------------------------------------------


class PersonDeceased(Conflict):
    code = "person.deceased"
    message_zh = "参保人已死亡，其医保卡和医保电子凭证自死亡之日起停止使用"
    message_en = "The insured person has died; their cards and e-vouchers are not used from the date of death"


class PersonEmigrated(Conflict):
    code = "person.emigrated"
    message_zh = "参保人已出国（境）定居，其医保卡和医保电子凭证自定居之日起停止使用"
    message_en = "The insured person has settled abroad; their cards and e-vouchers are not used from that date"


class AccountFrozen(Conflict):
    code = "account.frozen"
    message_zh = "该参保人的个人账户已被经办机构冻结，所有医保卡和医保电子凭证暂停使用，须由经办机构解冻"
    message_en = "The agency has frozen this person's account: every card and e-voucher is refused until the agency lifts it"


class AccountAlreadyFrozen(Conflict):
    code = "account.already_frozen"
    message_zh = "该参保人的个人账户已处于冻结状态"
    message_en = "The account is frozen already"


class AccountNotFrozen(Conflict):
    code = "account.not_frozen"
    message_zh = "该参保人的个人账户未被冻结"
    message_en = "The account is not frozen"


class UnfreezeReasonMissing(Invalid):
    code = "card.unfreeze_reason_missing"
    message_zh = "解除冻结须说明原因"
    message_en = "Lifting a freeze needs a reason"


class AccountClosed(Conflict):
    code = "account.closed"
    message_zh = "该个人账户已在继承人支取全部余额后注销，不再办理任何收支"
    message_en = "The account was closed after the heirs were paid its whole balance; nothing more is paid in or out"


class LifeEventInvalid(Invalid):
    code = "life_event.invalid"
    message_zh = "生存状态事件不正确：{reason_zh}"
    message_en = "The life event is not valid: {reason_en}"


class LifeEventConflict(Conflict):
    code = "life_event.conflict"
    message_zh = "该参保人已登记了另一生存状态事件（{kind_zh}，{event_date}），如需更正请由经办机构核查"
    message_en = "Another life event is already on record for this person ({kind}, {event_date}); the agency corrects it"


class PersonNotDeceased(Invalid):
    code = "application.person_not_deceased"
    message_zh = "未登记该参保人死亡，不能办理继承人支取；请先持死亡证明到经办机构登记"
    message_en = "No death is on record for this person: an heirs' withdrawal needs the death recorded by the agency first"


class HeirRequired(Invalid):
    code = "application.heir_required"
    message_zh = "死亡情形的支取须由继承人申请，并提供继承人的身份证号码、姓名及与参保人的关系"
    message_en = "A death-case withdrawal is made by the heir, with the heir's ID number, name and relation to the deceased"


class HeirMismatch(Invalid):
    code = "application.heir_mismatch"
    message_zh = "继承人身份核验未通过：身份证号码或姓名与继承人的登记信息不符"
    message_en = "The heir's identity check failed: the ID number or name does not match the heir's record"


class HeirRelationImplausible(Invalid):
    code = "application.heir_relation_implausible"
    message_zh = "继承人与参保人的关系与双方登记信息不符：{reason_zh}"
    message_en = "The heir's stated relation does not match the persons' records: {reason_en}"


class DeathCaseExists(Conflict):
    code = "application.death_case_exists"
    message_zh = "该参保人的继承人支取已有申请（{application_id}），余额只支付一次"
    message_en = "An heirs' withdrawal for this person exists already ({application_id}); the balance is paid once"


class ContributionAfterLifeEvent(Invalid):
    code = "contribution.after_life_event"
    message_zh = "参保人已于 {event_date} {kind_zh}，不能为其后的月份缴费：{period}"
    message_en = "The person's {kind} on {event_date} ends contributions: {period} is a later month"
# --- residents register and verified registration ---------------------------------


class RegistrationIdentityMismatch(Invalid):
    code = "registration.identity_mismatch"
    message_zh = "姓名与身份证号码未能通过核验，无法在线登记。请携带本人身份证到经办机构窗口办理"
    message_en = ("The name and ID number could not be confirmed for online registration. "
                  "Please bring your ID card to an agency counter")


class EVoucherEnrolmentPending(Conflict):
    code = "evoucher.enrolment_pending"
    message_zh = "参保登记尚在审核中，审核通过后方可激活医保电子凭证"
    message_en = "The enrolment is still awaiting the agency's approval; the e-voucher can be activated after it"


class EnrollmentPersonUnverified(Conflict):
    code = "enrollment.person_unverified"
    message_zh = "该参保人身份尚未核验（人口库无记录），须本人持身份证到经办机构窗口核验后方可审核通过"
    message_en = ("The person's identity is not verified (not in the residents register): they must show their "
                  "ID card at an agency counter before the enrolment can be approved")


class ResidentStatusInvalid(Invalid):
    code = "resident.status_invalid"
    message_zh = "状态须为 alive（在世）、deceased（死亡）或 emigrated（迁出）"
    message_en = "The status must be alive, deceased or emigrated"


class ResidentEventDateInvalid(Invalid):
    code = "resident.event_date_invalid"
    message_zh = "事件日期不正确：{reason_zh}"
    message_en = "The event date is not valid: {reason_en}"


class ResidentFileInvalid(Invalid):
    code = "resident.file_invalid"
    message_zh = "人口库文件无法处理：{reason_zh}"
    message_en = "The residents register file cannot be processed: {reason_en}"
# --- sessions, channels and sign-in -------------------------------------------


class ChannelMismatch(Invalid):
    code = "application.channel_mismatch"
    message_zh = "办理渠道由本次登录确定：{field} 应为 {expected}，与请求所填不符"
    message_en = "The channel comes from the session: its {field} is {expected}, not what the request says"


class SameHands(Conflict):
    code = "application.same_hands"
    message_zh = "受理该申请的经办人员不能审核同一申请，请由另一位审核人员办理"
    message_en = "Whoever took an application in does not review it; another reviewer decides it"


class TooManyAttempts(DomainError):
    status = 429
    code = "auth.too_many_attempts"
    message_zh = "登录失败次数过多，请 {retry_after_seconds} 秒后再试"
    message_en = "Too many failed sign-ins; try again in {retry_after_seconds} seconds"


class CurrentPasswordWrong(Forbidden):
    code = "auth.password_wrong"
    message_zh = "原密码不正确"
    message_en = "The current password is wrong"


class UserNotFound(NotFound):
    code = "user.not_found"
    message_zh = "未找到该用户"
    message_en = "No such user"


class RequestTooLarge(DomainError):
    status = 413
    code = "request.too_large"
    message_zh = "请求内容过大（上限 {limit_bytes} 字节）"
    message_en = "The request body is too large (the limit is {limit_bytes} bytes)"


# --- invoices reimbursed once, the window's day, cash-voucher identity ---------------


class InvoiceDuplicate(Invalid):
    """facts: earlier (the application or settlement that has it), and application_id or settlement_id."""

    code = "application.invoice_duplicate"
    message_zh = "该发票（票据）已在 {earlier} 中报销或结算，同一张发票只能报销一次"
    message_en = "This invoice was already claimed or settled ({earlier}); an invoice is reimbursed once"


class EventDateRequired(Invalid):
    code = "application.event_date_required"
    message_zh = "该事项须在发生之日起 {window_zh}内申请，请填写发生日期（event_date）"
    message_en = "This case is filed within {window_en} of the day it happened: event_date is required"


class CashVoucherIdentityRequired(Invalid):
    code = "cash_voucher.identity_required"
    message_zh = "兑付取现凭证须核验持有人身份：医保卡和密码、电子凭证，或由经办窗口核验身份证件"
    message_en = ("Redeeming a cash voucher needs the holder's identity: card and PIN, the e-voucher, or the ID "
                  "document checked by agency counter staff")


class CashVoucherHolderMismatch(Forbidden):
    code = "cash_voucher.holder_mismatch"
    message_zh = "出示的身份凭证不属于该取现凭证的持有人"
    message_en = "The credential presented is not the cash voucher holder's"


class AppointmentUsed(Conflict):
    code = "appointment.used"
    message_zh = "该预约已于 {used_at} 办理取现，不能取消"
    message_en = "This appointment was used for a cash redemption at {used_at}; it can no longer be cancelled"
# --- tamper evidence: checkpoints ------------------------------------------------


class CheckpointKeyMissing(Invalid):
    code = "audit.checkpoint_key_missing"
    message_zh = "未配置检查点签名密钥（YIBAO_CHECKPOINT_KEY_FILE 或 YIBAO_CHECKPOINT_KEY）：{reason_zh}"
    message_en = "No checkpoint signing key is configured (YIBAO_CHECKPOINT_KEY_FILE or YIBAO_CHECKPOINT_KEY): {reason_en}"


class CheckpointFileBroken(Conflict):
    code = "audit.checkpoint_file_broken"
    message_zh = "检查点文件第 {line} 行异常：{reason_zh}；未写入新的检查点"
    message_en = "Line {line} of the checkpoint file does not hold: {reason_en}; no checkpoint was written"


class BooksBroken(Conflict):
    code = "audit.books_broken"
    message_zh = "账簿核对未通过（首个异常：{table} {row}），不签署检查点"
    message_en = "The books do not verify (first broken row: {table} {row}); no checkpoint is signed"
# --- collection (征缴到账): declarations, the collector's confirmation, base bounds ---------


class ContributionBaseOutOfRange(Invalid):
    code = "contribution.base_out_of_range"
    message_zh = "缴费基数须在本地区当年缴费基数下限 {min_fen} 分与上限 {max_fen} 分之间"
    message_en = ("The contribution base must lie between the region's floor of {min_fen} fen and its ceiling of "
                  "{max_fen} fen for that year")


class DeclarationNotFound(NotFound):
    code = "contribution.declaration_not_found"
    message_zh = "未找到该缴费申报"
    message_en = "No such contribution declaration"


class DeclarationConflict(Conflict):
    code = "contribution.declaration_conflict"
    message_zh = "{period} 已申报另一缴费基数，待征收确认；如需更正请联系征收机构"
    message_en = ("A different base is already declared for {period} and awaits collection; "
                  "ask the collector to correct it")
# --- limits on the edges: outages ------------------------------------------------------------


class ServiceUnavailable(DomainError):
    status = 503
    code = "service.unavailable"
    message_zh = "服务暂时不可用，请 {retry_after_seconds} 秒后再试"
    message_en = "The service is unavailable for the moment; please try again in {retry_after_seconds} seconds"
# --- units: look-ups, back-dated enrolments and ends -------------------------------------------


class PersonLookupThrottled(DomainError):
    status = 429
    code = "person.too_many_lookups"
    message_zh = "查询未找到参保人的次数过多，请 {retry_after_seconds} 秒后再试"
    message_en = "Too many look-ups found no one; try again in {retry_after_seconds} seconds"


class EnrollmentStartTooEarly(Invalid):
    code = "enrollment.start_too_early"
    message_zh = "用人单位申报的参保开始日期不得早于 {earliest_date}；更早的日期请携带劳动合同与缴费凭证到经办机构窗口办理"
    message_en = ("A unit may date an enrolment's start no earlier than {earliest_date}; for an earlier date, bring "
                  "the labour contract and proof of contributions to the agency counter")


class EnrollmentStartTooLate(Invalid):
    code = "enrollment.start_too_late"
    message_zh = "用人单位申报的参保开始日期不得晚于 {latest_date}；请在员工入职前后及时办理"
    message_en = "A unit may date an enrolment's start no later than {latest_date}; enrol a new employee near the day they start"


class EnrollmentEndTooEarly(Invalid):
    code = "enrollment.end_too_early"
    message_zh = "用人单位申报的停保日期不得早于 {earliest_date}；更早的日期请到经办机构窗口办理"
    message_en = ("A unit may date an enrolment's end no earlier than {earliest_date}; for an earlier date, go to "
                  "the agency counter")


# --- claims: the invoice's issuer, and what a settled purchase already paid ---------------------------


class InvoiceIssuerUnknown(Invalid):
    """facts: position (1 for the claim's first invoice)."""

    code = "application.invoice_issuer_unknown"
    message_zh = "第 {position} 张发票的开票单位（issuer）须为已登记的医药机构编码"
    message_en = "Invoice {position}'s issuer must be the code of a registered institution"


# --- insiders: corrections through their own record, and a second admin for any other reversal --------------


class EntryOwnedByRecord(Conflict):
    code = "entry.owned_by_record"
    message_zh = "该笔账务属于{record_kind_zh}（{record_id}），不能直接冲正，请通过该记录本身更正（退费、拨付失败退回、缴费更正）"
    message_en = ("This entry belongs to a {record_kind} ({record_id}) and is not reversed on its own: correct it "
                  "through that record (a refund, a failed-payout return, a contribution correction)")


class ReversalNotFound(NotFound):
    code = "reversal.not_found"
    message_zh = "未找到该冲正申请"
    message_en = "No such reversal request"


class ReversalSameHands(Conflict):
    code = "reversal.same_hands"
    message_zh = "提出冲正的管理员不能审批同一冲正，请由另一位管理员审批"
    message_en = "Whoever asked for a reversal does not decide it; another admin approves or rejects it"


class ReversalDecided(Conflict):
    code = "reversal.already_decided"
    message_zh = "该冲正申请已处理（{status}）"
    message_en = "This reversal request has already been decided ({status})"




# --- bank files (银行付款文件与回盘): signatures, foreign and replayed returns, held lines, four eyes ----


class ReturnUnsigned(Invalid):
    code = "disbursement.return_unsigned"
    message_zh = "银行回盘文件未签名：只接受银行签名的回盘文件原件"
    message_en = "The return file is not signed: only the bank's signed return file is accepted"


class ReturnSignatureInvalid(Invalid):
    code = "disbursement.return_signature_invalid"
    message_zh = "银行回盘文件的签名无效：文件不是银行签发的，或已被改动"
    message_en = "The return file's signature does not verify: the bank did not sign it, or it was altered"


class ReturnForeign(Conflict):
    code = "disbursement.return_foreign"
    message_zh = "该回盘文件属于另一批次或另一付款文件，不能用于本批次"
    message_en = "The return file belongs to another batch or payment file, not this one"


class ReturnReplayed(Conflict):
    code = "disbursement.return_replayed"
    message_zh = "该回盘文件已于 {applied_at} 入账，不能重复使用；批次当前状态为 {batch_status}"
    message_en = "This return file was applied at {applied_at} and is not applied again; the batch is {batch_status}"


class ReturnLineSettled(Conflict):
    code = "disbursement.line_settled"
    message_zh = "第 {line_no} 笔已由银行回盘确认为 {line_status}，不能再改"
    message_en = "Line {line_no} was already settled as {line_status} by the bank's return; it cannot change"


class BankKeyMissing(DomainError):
    status = 503
    code = "disbursement.bank_key_missing"
    message_zh = "未配置银行公钥，无法核验回盘文件的签名"
    message_en = "The bank's public key is not configured: return files cannot be verified"


class BankUnavailable(DomainError):
    status = 503
    code = "disbursement.bank_unavailable"
    message_zh = "银行服务暂不可用，请稍后再试"
    message_en = "The bank cannot be reached; please try again later"


class ReturnNotReady(Conflict):
    code = "disbursement.return_not_ready"
    message_zh = "银行尚未出具该批次的回盘文件"
    message_en = "The bank has no return file for this batch yet"


class FourEyes(Conflict):
    code = "disbursement.four_eyes"
    message_zh = "金额达到 {from_fen} 分的拨付须由另一人办理：{step_zh}"
    message_en = "A payout of {from_fen} fen or more needs a second person: {step_en}"


class HoldBehindBankLine(Conflict):
    code = "hold.behind_bank_line"
    message_zh = "该冻结款项已随付款文件发送银行，只能由银行签名的回盘文件结清"
    message_en = "The hold is behind a line sent to the bank; only the bank's signed return settles it"




# --- payment codes, PIN checks, PIN unlocks ---------------------------------------------------


class TokenNotAccepted(Invalid):
    code = "credential.token_not_accepted"
    message_zh = "医保电子凭证令牌不能直接支付：请在 App 中出示一次性付款码（60 秒有效）"
    message_en = "The e-voucher token itself does not pay; show the one-time payment code from the app (valid 60 s)"


class PaymentCodeInvalid(Invalid):
    code = "payment_code.invalid"
    message_zh = "付款码无效，请在 App 中刷新付款码"
    message_en = "The payment code is not valid; refresh the code in the app"


class PaymentCodeExpired(Invalid):
    code = "payment_code.expired"
    message_zh = "付款码已过期，请在 App 中刷新付款码"
    message_en = "The payment code has expired; refresh the code in the app"


class PaymentCodeUsed(Conflict):
    code = "payment_code.used"
    message_zh = "付款码已使用，请在 App 中刷新付款码"
    message_en = "The payment code has already been used; refresh the code in the app"


class PaymentCodesThrottled(DomainError):
    status = 429
    code = "payment_code.too_many"
    message_zh = "付款码请求过于频繁，请 {retry_after_seconds} 秒后再试"
    message_en = "Too many payment codes asked for; try again in {retry_after_seconds} seconds"


class PinRegionNotCovered(Invalid):
    code = "card.region_not_covered"
    message_zh = ("该机构不在参保地，也不在已备案的就医地，不能在此刷卡结算：请先办理异地就医备案，或先行垫付、回参保地"
                  "申请报销")
    message_en = ("This institution is neither in the card's insured region nor in a region a filing covers, so the "
                  "card does not pay here; file first, or pay now and claim reimbursement at home")


class PinUnlockLimitReached(Invalid):
    code = "card.unlock_limit_reached"
    message_zh = "该卡 {period_days} 天内已解锁 {unlocks} 次，已达上限 {max_unlocks} 次，请核查后再办理"
    message_en = ("The card was unlocked {unlocks} times in {period_days} days, the most allowed being "
                  "{max_unlocks}; look into it before unlocking again")


# --- a unit's import of employees from a file ------------------------------------------------


class EmployeeFileInvalid(Invalid):
    code = "unit_import.file_invalid"
    message_zh = "文件无法导入：{reason_zh}"
    message_en = "The file cannot be imported: {reason_en}"


class EmployeeRowInvalid(Invalid):
    code = "unit_import.row_invalid"
    message_zh = "该行无法导入：{reason_zh}"
    message_en = "The row cannot be imported: {reason_en}"


class UnitImportNotFound(NotFound):
    code = "unit_import.not_found"
    message_zh = "未找到该批量增员记录"
    message_en = "No such import of employees"


# --- background jobs ----------------------------------------------------------------------------


class JobNotFound(NotFound):
    code = "job.not_found"
    message_zh = "未找到该后台任务"
    message_en = "No such background job"


class JobNotRetryable(Conflict):
    code = "job.not_retryable"
    message_zh = "该任务仍在运行或已完成，无需重试"
    message_en = "The job is still running or has finished: there is nothing to retry"


class JobKindUnknown(Invalid):
    code = "job.kind_unknown"
    message_zh = "未知的任务类型"
    message_en = "Unknown kind of job"


# --- misuse findings (R26) -------------------------------------------------------------


class FindingNotFound(NotFound):
    code = "finding.not_found"
    message_zh = "未找到该疑点"
    message_en = "No such finding"


class FindingAlreadyDecided(Conflict):
    code = "finding.already_decided"
    message_zh = "该疑点已处理（{status}），不能再次处理"
    message_en = "The finding has been decided already ({status})"


class FindingNoteMissing(Invalid):
    code = "finding.note_missing"
    message_zh = "排除疑点须填写说明"
    message_en = "Dismissing a finding needs a note"


class FindingActionInvalid(Invalid):
    code = "finding.action_invalid"
    message_zh = "处理方式只能是确认、排除或移交"
    message_en = "The action is confirm, dismiss or escalate"


class FindingNotConfirmed(Conflict):
    code = "finding.not_confirmed"
    message_zh = "只有已确认且针对参保人的疑点才能据以冻结账户"
    message_en = "Only a confirmed finding on a person can lead to freezing the account"


class FindingsRecordedMeanwhile(Conflict):
    code = "finding.recorded_meanwhile"
    message_zh = "同一疑点正被另一次分析同时记录，请重试"
    message_en = "The same finding is being recorded by another run; try again"
