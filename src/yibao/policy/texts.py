"""The wording of decisions, in Chinese and English, where a rule gives no `message` of its own.

Placeholders are filled from the rule's answer (its figures) and the facts of the decision;
amounts are shown as yuan, rates as percentages, lists by their labels.
"""

from __future__ import annotations

TEXTS: dict[str, tuple[str, str]] = {
    "contribution.allocation.rate": ("按缴费基数 {base} 的 {rate} 划入个人账户，计 {amount}",
                                     "{rate} of the contribution base {base} is credited to the personal account: "
                                     "{amount}"),
    "contribution.allocation.amount": ("每月定额划入个人账户 {amount}",
                                       "A fixed {amount} a month is credited to the personal account"),
    "settlement.coverage": ("在{institution_kind}，个人账户可支付：{categories}",
                            "At a {institution_kind} the personal account pays for: {categories}"),
    "settlement.coverage.partial": ("在{institution_kind}，个人账户可支付：{categories}；{uncovered}由现金支付",
                                    "At a {institution_kind} the personal account pays for: {categories}; "
                                    "cash pays for: {uncovered}"),
    "settlement.limit.per_transaction": ("单笔个人账户支付上限 {limit}", "Personal-account payments are limited to "
                                         "{limit} a payment"),
    "settlement.limit.institution_daily": ("同一定点医药机构每日个人账户支付上限 {limit}，今日已用 {used}，尚可 {remaining}",
                                           "At one institution the account pays at most {limit} a day; used today "
                                           "{used}, {remaining} left"),
    "settlement.limit.daily": ("各定点医药机构每日累计个人账户支付上限 {limit}，今日已用 {used}，尚可 {remaining}",
                               "Across institutions the account pays at most {limit} a day; used today {used}, "
                               "{remaining} left"),
    "settlement.limit.yearly": ("个人账户年度累计支付上限 {limit}，本年已用 {used}，尚可 {remaining}",
                                "The account pays at most {limit} a calendar year; used this year {used}, "
                                "{remaining} left"),
    "settlement.limit.daily_count": ("个人账户每日支付不超过 {limit} 次，今日已 {used} 次",
                                     "The account pays at most {limit} times a day; {used} so far today"),
    "settlement.limit.refused": ("已达上限，本次结算不予办理", "The limit is reached: this payment is refused"),
    "settlement.cross_region": ("跨省直接结算：{allowed}", "Cross-region direct settlement: {allowed}"),
    "settlement.refund": ("退费退回个人账户；恢复当期额度：{restores_quota}",
                          "A refund goes back to the personal account; it frees the period's quota: {restores_quota}"),
    "family.grant": ("可授权{relation}使用个人账户，支付：{categories}",
                     "A {relation} may be granted use of the account, to pay for: {categories}"),
    "family.relations": ("亲属关系按登记的出生日期核验：父母与子女至少相差 {generation_gap} 岁；最多授权 {max_grantees} 人",
                         "Relations are checked against the recorded birth dates: a parent is at least "
                         "{generation_gap} years older than a child; at most {max_grantees} relatives"),
    "family.grant.refused": ("{relation}不在可共济的家庭成员范围内", "A {relation} cannot be granted use of the account"),
    "withdrawal": ("{reason}：可申请支取个人账户余额", "{reason}: the balance may be withdrawn on application"),
    "withdrawal.refused": ("{reason}：个人账户资金不予支取", "{reason}: the account is not paid out"),
    "reimbursement": ("{reason}：可申请报销，个人账户支付 {share}",
                      "{reason}: a claim may be made; the account pays {share}"),
    "reimbursement.refused": ("{reason}：不予报销", "{reason}: no reimbursement"),
    "filing": ("{type}（{reason}）：可办理", "{type} ({reason}): may be filed"),
    "filing.refused": ("{type}（{reason}）：不予办理", "{type} ({reason}): cannot be filed"),
    "disbursement": ("审核通过后 {working_days} 个工作日内到账，预计 {expected_arrival}",
                     "Arrives within {working_days} working day(s) of approval, expected on {expected_arrival}"),
    "no_rule": ("{region} 在 {date} 没有关于「{question_zh}」的有效规定，不予办理",
                "{region} has no rule on {question_en} in force on {date}, so it is not allowed"),
}

NOTES: dict[str, tuple[str, str]] = {
    "not_designated": ("该机构在 {date} 不是定点医药机构，个人账户不能支付",
                       "On {date} this institution is not designated: the account cannot pay there"),
    "balance.insufficient": ("个人账户余额 {balance} 不足，其余由现金支付",
                             "The account balance {balance} is not enough; cash pays the rest"),
    "fee": ("手续费 {fee}，实际到账 {net}", "Fee {fee}; {net} arrives"),
    "channel": ("办理渠道不符：{channel} 不在可办理渠道（{channels}）之内",
                "{channel} is not a channel for this ({channels})"),
    "in_person": ("须本人办理，不可代办", "Only the person themselves may apply; no proxy"),
    "in_person.heir": ("须由继承人本人办理，不可代办；参保人已死亡，不能由其本人办理",
                       "The heir must apply in person, no proxy (the deceased cannot)"),
    "documents_missing": ("缺少材料：{missing}", "Documents missing: {missing}"),
    "window_closed": ("已超过申请期限（{deadline}）", "The application window closed on {deadline}"),
    "amount_exceeds": ("申请金额 {amount} 超过可支取上限 {max}", "The amount {amount} is above the maximum {max}"),
    "start_in_past": ("备案开始日期 {start_date} 早于今日，该类备案不能补办",
                      "The filing cannot start in the past ({start_date})"),
    "locked": ("备案自 {valid_from} 起 {locked} 个月内不可变更或取消，{unlocked} 起可办理",
               "A filing cannot be changed or cancelled within {locked} months of {valid_from}; from {unlocked} it can"),
    "until_cancelled": ("备案长期有效，直至取消", "The filing is valid until cancelled"),
    "valid_to": ("备案有效期 {valid_from} 至 {valid_to}", "The filing is valid from {valid_from} to {valid_to}"),
}
