//! What a reporter is told before choosing an urgency: how long the report
//! waits, and what that buys. Shown by the app from the mailbox response.

use super::dto::Urgency;
use super::rules::window_minutes;
use crate::i18n::Language;

/// The trade of an urgency, in the reporter's language.
pub fn trade_off(urgency: Urgency, language: Language) -> String {
    let mins = window_minutes(urgency);
    match (urgency, language) {
        (Urgency::DangerNow, Language::En) => "The school and the district are alerted at once. \
            Someone who knows when you used your phone may guess who sent it. \
            If you are in danger, also call the crisis line."
            .to_string(),
        (Urgency::DangerNow, Language::ZhCn) => "学校和教育局会立刻收到提醒。\
            知道你什么时候用过手机的人，可能据此猜出是谁发的。\
            如果你现在有危险，请同时拨打求助电话。"
            .to_string(),
        (_, Language::En) => format!(
            "Delivered at the end of the {mins}-minute window it is sent in, together with \
             every other report of that window, in random order: the school and the district \
             learn of it up to {mins} minutes later, and no one can tell from any time when \
             within those {mins} minutes you sent it."
        ),
        (_, Language::ZhCn) => format!(
            "举报会在所在的{mins}分钟时段结束时，与该时段内的其他举报一起、以随机顺序送达：\
             学校和教育局最多晚{mins}分钟收到，但任何人都无法从时间上看出你是在这{mins}分钟内的哪一刻发送的。"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_urgency_has_its_trade_in_both_languages() {
        for &u in Urgency::ALL {
            for lang in [Language::ZhCn, Language::En] {
                assert!(!trade_off(u, lang).is_empty());
            }
        }
        assert!(trade_off(Urgency::Normal, Language::En).contains("60-minute"));
        assert!(trade_off(Urgency::Urgent, Language::ZhCn).contains("15分钟"));
        assert!(trade_off(Urgency::DangerNow, Language::En).contains("at once"));
    }
}
