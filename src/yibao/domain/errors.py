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
    message_zh = "用户名 {username} 已被使用"
    message_en = "The username {username} is already taken"


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
    message_zh = "行政区划代码 {region} 不存在"
    message_en = "{region} is not a known GB/T 2260 region code"


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
    message_zh = "未找到定点机构 {code_}"
    message_en = "No such institution {code_}"


class InstitutionDuplicate(Conflict):
    code = "institution.duplicate"
    message_zh = "机构编码 {code_} 已存在"
    message_en = "An institution with code {code_} already exists"


class InstitutionInvalid(Invalid):
    code = "institution.invalid"
    message_zh = "机构信息不正确：{reason_zh}"
    message_en = "The institution is not valid: {reason_en}"


class AgencyNotFound(NotFound):
    code = "agency.not_found"
    message_zh = "未找到 {region} 的医保经办机构"
    message_en = "No insurance agency is listed for region {region}"


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
    message_zh = "渠道 {channel} 不支持，可选：app、miniprogram、web"
    message_en = "Channel {channel} is not supported; use app, miniprogram or web"


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
