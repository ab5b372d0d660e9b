//! The texts of the gate's and the dormitories' alerts, and of families'
//! data requests, beside the other templates' (`templates.rs`).

use super::templates::Template;
use crate::i18n::Language;

/// (title, body) patterns of the gate and dormitory templates.
pub(super) fn patterns(t: Template, lang: Language) -> (&'static str, &'static str) {
    use Language::*;
    match (t, lang) {
        (Template::GateWatchListHit, ZhCn) => (
            "紧急：禁止入校人员试图进校",
            "{time}禁止入校名单上的人员（{visitor}）试图进入{school}，门卫没有放行。",
        ),
        (Template::GateWatchListHit, En) => (
            "Urgent: someone on the watch list tried to enter",
            "At {time} a person on the watch list ({visitor}) tried to enter {school}. The gate did not let them in.",
        ),
        (Template::GateVisitorWaiting, ZhCn) => (
            "访客在门口等候",
            "{visitor}于{time}到访，事由：{purpose}。请在平安校园中同意或拒绝。",
        ),
        (Template::GateVisitorWaiting, En) => (
            "A visitor is waiting at the gate",
            "{visitor} arrived at {time} to see you ({purpose}). Approve or refuse the visit in SafeCampus.",
        ),
        (Template::GateVisitDecided, ZhCn) => (
            "来访已处理",
            "{visitor}的来访：{decision}。",
        ),
        (Template::GateVisitDecided, En) => (
            "A visit was decided",
            "The visit of {visitor}: {decision}.",
        ),
        (Template::GateOverstay, ZhCn) => (
            "访客逾时未离校",
            "{visitor}的来访已于{until}结束，至今仍在校内。请核实。",
        ),
        (Template::GateOverstay, En) => (
            "A visitor has overstayed",
            "The visit of {visitor} ended at {until}, and they are still on site. Please check.",
        ),
        (Template::GateClosing, ZhCn) => (
            "闭校时仍在校内的访客",
            "{school}闭校时仍有{count}名访客在校内：{visitors}。",
        ),
        (Template::GateClosing, En) => (
            "Visitors still inside at closing",
            "At closing, {count} visitor(s) are still inside {school}: {visitors}.",
        ),
        (Template::DormEntryIncident, ZhCn) => (
            "紧急：男性未经批准进入女生宿舍",
            "{time}，{name}未经批准进入女生宿舍{dorm}。请立即处理。",
        ),
        (Template::DormEntryIncident, En) => (
            "Urgent: a man entered a girls' dormitory without approval",
            "At {time} {name} entered the girls' dormitory {dorm} without approval. Please act at once.",
        ),
        (Template::DormAbsent, ZhCn) => (
            "紧急：住校生夜间未归",
            "{date}晚{dorm}点名，{student}不在宿舍，且没有获批的请假。请立即联系学校。",
        ),
        (Template::DormAbsent, En) => (
            "Urgent: a boarder is missing at night",
            "At the {date} night roll call of {dorm}, {student} was absent without approved leave. Contact the school at once.",
        ),
        (Template::DataRequestReceived, ZhCn) => (
            "家庭提出个人信息请求",
            "一位家长提出了个人信息请求（{kind}），请在{due}前答复。",
        ),
        (Template::DataRequestReceived, En) => (
            "A family asked about its personal data",
            "A family made a personal-data request ({kind}). Answer it by {due}.",
        ),
        (Template::DataRequestDue, ZhCn) => (
            "个人信息请求即将到期",
            "一项个人信息请求（{kind}）须在{due}前答复，至今尚未处理。",
        ),
        (Template::DataRequestDue, En) => (
            "A personal-data request is due soon",
            "A personal-data request ({kind}) must be answered by {due} and is still open.",
        ),
        (Template::DataRequestAnswered, ZhCn) => (
            "您的个人信息请求已答复",
            "学校已答复您的个人信息请求（{kind}）：{outcome}。",
        ),
        (Template::DataRequestAnswered, En) => (
            "Your personal-data request was answered",
            "The school answered your personal-data request ({kind}): {outcome}.",
        ),
        (other, _) => unreachable!("{other} is not a gate, dormitory or data-request template"),
    }
}
