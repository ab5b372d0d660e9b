use crate::i18n::Language;

// Not "Category": the tip line has one, and the document holds one schema per name.
crate::text_enum!(
    #[schema(as = NotificationCategory)]
    pub enum Category {
        Account = "account",
        Pickup = "pickup",
        Leave = "leave",
        Attendance = "attendance",
        Tipline = "tipline",
        Notice = "notice",
        /// Notices: prevention education, whose reach the district measures.
        SafetyEducation = "safety_education",
        Meeting = "meeting",
        General = "general",
        /// Goes to every channel at once, at any hour.
        Urgent = "urgent",
    }
);

impl Category {
    /// Safety and security alerts: always shown in the app (a user cannot
    /// switch them off there) and sent at any hour, quiet hours or not.
    pub fn is_safety_critical(self) -> bool {
        matches!(
            self,
            Category::Account
                | Category::Pickup
                | Category::Attendance
                | Category::Tipline
                | Category::SafetyEducation
                | Category::Urgent
        )
    }

    /// Ignores quiet hours.
    pub fn bypasses_quiet_hours(self) -> bool {
        matches!(
            self,
            Category::Pickup | Category::Attendance | Category::Tipline | Category::Urgent
        )
    }

    /// Every channel the user can be reached on, whatever the preferences.
    pub fn is_urgent(self) -> bool {
        self == Category::Urgent
    }
}

/// Texts around a notice or an alert when it leaves the app.
pub struct ExternalTexts;

impl ExternalTexts {
    pub fn urgent_prefix(lang: Language) -> &'static str {
        match lang {
            Language::ZhCn => "【紧急】",
            Language::En => "[Urgent] ",
        }
    }

    pub fn reminder_prefix(lang: Language) -> &'static str {
        match lang {
            Language::ZhCn => "【提醒】",
            Language::En => "[Reminder] ",
        }
    }

    pub fn ack_footer(lang: Language) -> &'static str {
        match lang {
            Language::ZhCn => "请在平安校园应用中阅读并确认此通知。",
            Language::En => "Please read and acknowledge this notice in the SafeCampus app.",
        }
    }

    pub fn app_footer(lang: Language) -> &'static str {
        match lang {
            Language::ZhCn => "详情请打开平安校园应用查看。",
            Language::En => "Open the SafeCampus app for details.",
        }
    }

    /// What a tip-line alert says outside the app: nothing about the report.
    pub fn tipline(lang: Language) -> (&'static str, &'static str) {
        match lang {
            Language::ZhCn => (
                "举报信箱有新动态",
                "举报信箱有需要您处理的新动态，请登录平安校园查看。",
            ),
            Language::En => (
                "Tip line update",
                "There is a tip-line update for you. Sign in to SafeCampus to see it.",
            ),
        }
    }
}

crate::text_enum!(
    /// Every system text, in both languages. `{name}` is filled from the data.
    /// Its key is what a notification keeps.
    pub enum Template {
        PasswordChanged = "account.password_changed",
        AccountDisabled = "account.disabled",
        AccountActivation = "account.activation",
        StaffDeparted = "org.staff_departed",
        GuardianLinked = "org.guardian_linked",
        TiplineNewReport = "tipline.new_report",
        TiplineOverdue = "tipline.overdue",
        TiplineReporterMessage = "tipline.reporter_message",
        TiplineStatusChanged = "tipline.status_changed",
        TiplineStalled = "tipline.stalled",
        TiplineRecipientChange = "tipline.recipient_change",
        TiplineKeyChanged = "tipline.key_changed",
        TiplineKeyBackupRead = "tipline.key_backup_read",
        TiplineUndecryptable = "tipline.undecryptable",
        PickupPersonAdded = "pickup.person_added",
        PickupPersonRevoked = "pickup.person_revoked",
        PickupBlockAdded = "pickup.block_added",
        PickupBlockLifted = "pickup.block_lifted",
        PickupBlockPending = "pickup.block_pending",
        PickupBlockConfirmed = "pickup.block_confirmed",
        PickupBlockRejected = "pickup.block_rejected",
        PickupHeld = "pickup.held",
        PickupReleased = "pickup.released",
        PickupRefused = "pickup.refused",
        PickupBlockedAttempt = "pickup.blocked_attempt",
        PickupDisputed = "pickup.disputed",
        PickupLate = "pickup.late",
        PickupLateEscalated = "pickup.late_escalated",
        DismissalModeChanged = "pickup.dismissal_mode_changed",
        LeaveAwaitingDecision = "leave.awaiting_decision",
        LeaveApproved = "leave.approved",
        LeaveRejected = "leave.rejected",
        LeaveWithdrawn = "leave.withdrawn",
        LeaveExited = "leave.exited",
        LeaveReturned = "leave.returned",
        LeaveOverdue = "leave.overdue",
        LeaveOverdueEscalated = "leave.overdue_escalated",
        AbsenceUnexcused = "attendance.absent_unexcused",
        AbsenceWithdrawn = "attendance.absence_withdrawn",
        AbsenceExplained = "attendance.absence_explained",
        ConcernRaised = "attendance.concern_raised",
        VettingBarred = "vetting.barred",
        VettingExpiring = "vetting.expiring",
        CaseOpened = "cases.opened",
        CasePoliceOverdue = "cases.police_overdue",
        CaseAckOverdue = "cases.ack_overdue",
        CaseMeasure = "cases.measure",
        ConcernLogged = "concerns.logged",
        GateWatchListHit = "gate.watch_list_hit",
        GateVisitorWaiting = "gate.visitor_waiting",
        GateVisitDecided = "gate.visit_decided",
        GateOverstay = "gate.overstay",
        GateClosing = "gate.closing",
        DormEntryIncident = "dorms.entry_incident",
        DormAbsent = "dorms.absent",
        DataRequestReceived = "privacy.data_request_received",
        DataRequestDue = "privacy.data_request_due",
        DataRequestAnswered = "privacy.data_request_answered",
    }
);

impl Template {
    pub fn key(self) -> &'static str {
        self.as_str()
    }

    pub fn from_key(key: &str) -> Option<Template> {
        Template::parse(key)
    }

    /// (title, body) patterns.
    fn patterns(self, lang: Language) -> (&'static str, &'static str) {
        use Language::*;
        match (self, lang) {
            (Template::PasswordChanged, ZhCn) => (
                "密码已修改",
                "您的密码已修改，所有设备已退出登录。如非本人操作，请立即联系学校。",
            ),
            (Template::PasswordChanged, En) => (
                "Password changed",
                "Your password was changed and every device was signed out. If this was not you, contact the school at once.",
            ),
            (Template::AccountDisabled, ZhCn) => ("账号已停用", "您的账号已被管理员停用。"),
            (Template::AccountDisabled, En) => ("Account disabled", "Your account was disabled by an administrator."),
            (Template::StaffDeparted, ZhCn) => (
                "教职工离职",
                "{name}已离职，账号已停用。需要重新指定班主任的班级：{classes}；退出的举报信箱接收人位置：{mailboxes}个。",
            ),
            (Template::StaffDeparted, En) => (
                "A staff member left",
                "{name} has left and the account is disabled. Classes that need a new head teacher: {classes}; tip-line mailbox places left: {mailboxes}.",
            ),
            (Template::AccountActivation, ZhCn) => (
                "开通平安校园账号",
                "您的平安校园账号（用户名 {username}）已开通。请用激活码 {code} 设置您自己的密码，激活码7天内有效，仅可使用一次。",
            ),
            (Template::AccountActivation, En) => (
                "Your SafeCampus account",
                "Your SafeCampus account (username {username}) is ready. Set your own password with the activation code {code}; it works once, within 7 days.",
            ),
            (Template::GuardianLinked, ZhCn) => (
                "已关联学生",
                "您已被登记为{school}学生{student}的监护人（{relation}）。",
            ),
            (Template::GuardianLinked, En) => (
                "Linked to a student",
                "You are now registered as a guardian ({relation}) of {student} at {school}.",
            ),
            (Template::TiplineNewReport, ZhCn) => (
                "举报信箱有新举报",
                "{school}收到一份新举报（类别：{category}，紧急程度：{urgency}）。请尽快在举报信箱中查看并确认。",
            ),
            (Template::TiplineNewReport, En) => (
                "New tip-line report",
                "{school} received a new report (category: {category}, urgency: {urgency}). Open the mailbox and acknowledge it.",
            ),
            (Template::TiplineOverdue, ZhCn) => (
                "举报未按时确认",
                "{school}的一份举报（类别：{category}，紧急程度：{urgency}）超时仍未确认，已上报区教育局。",
            ),
            (Template::TiplineOverdue, En) => (
                "Report not acknowledged in time",
                "A report at {school} (category: {category}, urgency: {urgency}) is still unacknowledged past its deadline and was escalated to the district.",
            ),
            (Template::TiplineReporterMessage, ZhCn) => (
                "举报人发来新消息",
                "{school}的一份举报有举报人的新消息，请在举报信箱中查看。",
            ),
            (Template::TiplineReporterMessage, En) => (
                "New message from a reporter",
                "A reporter added a message to a report at {school}. Open the mailbox to read it.",
            ),
            (Template::TiplineStatusChanged, ZhCn) => (
                "举报处理状态变更",
                "{school}的一份举报（类别：{category}）处理状态变更：{action}，当前状态：{status}。",
            ),
            (Template::TiplineStatusChanged, En) => (
                "Report status changed",
                "A report at {school} (category: {category}) moved: {action}; it is now {status}.",
            ),
            (Template::TiplineStalled, ZhCn) => (
                "举报处理超期",
                "{school}的一份举报（类别：{category}，紧急程度：{urgency}）未在期限内推进或记录进展，已上报区教育局。",
            ),
            (Template::TiplineStalled, En) => (
                "Report handling past its deadline",
                "A report at {school} (category: {category}, urgency: {urgency}) did not move on or get a progress note in time and was escalated to the district.",
            ),
            (Template::TiplineRecipientChange, ZhCn) => (
                "举报信箱接收人变更待批准",
                "{school}申请变更举报信箱接收人，须区教育局批准后生效。",
            ),
            (Template::TiplineRecipientChange, En) => (
                "Mailbox recipients change waiting for approval",
                "{school} asked to change who receives its report mailbox. It takes effect only when a bureau officer approves it.",
            ),
            (Template::TiplineKeyChanged, ZhCn) => (
                "举报信箱密钥已更换",
                "账号{username}的举报信箱加密密钥已更换。如非本人操作，请立即联系区教育局。",
            ),
            (Template::TiplineKeyChanged, En) => (
                "Tip-line key replaced",
                "The tip-line encryption key of {username} was replaced. If this was not you, contact the bureau at once.",
            ),
            (Template::TiplineKeyBackupRead, ZhCn) => (
                "举报信箱密钥备份被读取",
                "账号{username}的举报信箱密钥备份被读取。如非本人操作，请立即联系区教育局。",
            ),
            (Template::TiplineKeyBackupRead, En) => (
                "Tip-line key backup read",
                "The tip-line key backup of {username} was read. If this was not you, contact the bureau at once.",
            ),
            (Template::TiplineUndecryptable, ZhCn) => (
                "举报无法解密",
                "{school}的一份举报（{category}）有读者报告其密钥封装无法打开，请核查。",
            ),
            (Template::TiplineUndecryptable, En) => (
                "A report would not open",
                "A reader says a key wrap of a report from {school} ({category}) would not open. Check it.",
            ),
            (Template::PickupPersonAdded, ZhCn) => (
                "新增接送人",
                "{person}（{relation}）现在可以接{student}放学：{days_zh}，{from}至{until}。",
            ),
            (Template::PickupPersonAdded, En) => (
                "New pickup person",
                "{person} ({relation}) may now pick up {student}, {days} from {from} until {until}.",
            ),
            (Template::PickupPersonRevoked, ZhCn) => (
                "接送授权已撤销",
                "{person}（{relation}）不再可以接{student}放学。",
            ),
            (Template::PickupPersonRevoked, En) => (
                "Pickup permission revoked",
                "{person} ({relation}) may no longer pick up {student}.",
            ),
            (Template::PickupBlockAdded, ZhCn) => (
                "已登记禁止接送人",
                "学校不会把{student}交给{person}。",
            ),
            (Template::PickupBlockAdded, En) => (
                "Never-release entry recorded",
                "The school will never release {student} to {person}.",
            ),
            (Template::PickupBlockLifted, ZhCn) => (
                "禁止接送已解除",
                "学校管理员解除了对{person}接{student}的禁止。",
            ),
            (Template::PickupBlockLifted, En) => (
                "Never-release entry lifted",
                "The school admin lifted the ban on {person} taking {student}.",
            ),
            (Template::PickupBlockPending, ZhCn) => (
                "待确认：禁止接送涉及监护人",
                "有人登记禁止{person}接{student}，而{person}是孩子的监护人。请核对法院或保护令后确认或驳回；在此之前，交给{person}的接送会被暂停。",
            ),
            (Template::PickupBlockPending, En) => (
                "To confirm: a never-release entry names a guardian",
                "An entry bars {person}, a guardian of {student}, from taking {student}. Check the court or protective order, then confirm or reject it; until then a release to {person} is held.",
            ),
            (Template::PickupBlockConfirmed, ZhCn) => (
                "禁止接送已确认",
                "学校管理员依法院或保护令确认：学校不会把{student}交给{person}。",
            ),
            (Template::PickupBlockConfirmed, En) => (
                "Never-release entry confirmed",
                "The school admin confirmed it against a court or protective order: the school will never release {student} to {person}.",
            ),
            (Template::PickupBlockRejected, ZhCn) => (
                "禁止接送申请已驳回",
                "学校管理员驳回了禁止{person}接{student}的登记。",
            ),
            (Template::PickupBlockRejected, En) => (
                "Never-release entry rejected",
                "The school admin rejected the entry barring {person} from taking {student}.",
            ),
            (Template::PickupHeld, ZhCn) => (
                "紧急：接送已暂停，请校长处理",
                "{time}{adult}要接{student}，但一条涉及该监护人的禁止接送登记尚待确认。孩子留在学校，请立即确认或驳回。",
            ),
            (Template::PickupHeld, En) => (
                "Urgent: a pickup is on hold",
                "At {time} {adult} came for {student}, but a never-release entry naming this guardian awaits your decision. {student} stays at school: confirm or reject it now.",
            ),
            (Template::PickupReleased, ZhCn) => (
                "孩子已被接走",
                "{student}已于{time}由{adult}（{relation}）接走。如有疑问请立即联系学校。",
            ),
            (Template::PickupReleased, En) => (
                "Picked up",
                "{student} was picked up by {adult} ({relation}) at {time}. If this is wrong, contact the school at once.",
            ),
            (Template::VettingBarred, ZhCn) => (
                "紧急：入职查询发现记录",
                "{name}的入职查询结果为有记录。该人员已停止接触学生，账号已退出登录，已列入禁止入校名单。",
            ),
            (Template::VettingBarred, En) => (
                "Urgent: a record check found a record",
                "The record check of {name} found a record. {name} can no longer reach pupils: their sessions have ended and they are on the district's watch list.",
            ),
            (Template::CaseOpened, ZhCn) => (
                "紧急：新立案件",
                "{school}立案{number}（疑似侵害未成年人）。请登录平安校园查看并处理。",
            ),
            (Template::CaseOpened, En) => (
                "Urgent: a case was opened",
                "{school} opened case {number} (suspected abuse of a minor). Sign in to SafeCampus to handle it.",
            ),
            (Template::CasePoliceOverdue, ZhCn) => (
                "紧急：案件尚未报警",
                "{school}的案件{number}立案已{hours}小时，仍未登记报警。依法应立即报警。",
            ),
            (Template::CasePoliceOverdue, En) => (
                "Urgent: no police report yet",
                "Case {number} at {school} was opened {hours} hours ago and no police report is on record. The law says to call the police at once.",
            ),
            (Template::CaseAckOverdue, ZhCn) => (
                "案件待教育局确认",
                "{school}的案件{number}已超过确认期限，教育局尚未确认。",
            ),
            (Template::CaseAckOverdue, En) => (
                "A case awaits the bureau",
                "Case {number} at {school} is past its deadline and the bureau has not yet acknowledged it.",
            ),
            (Template::CaseMeasure, ZhCn) => (
                "案件保护措施",
                "{school}的案件{number}采取了保护措施：{measure}。",
            ),
            (Template::CaseMeasure, En) => (
                "A protective measure on a case",
                "A protective measure was taken on case {number} at {school}: {measure}.",
            ),
            (
                Template::GateWatchListHit
                | Template::GateVisitorWaiting
                | Template::GateVisitDecided
                | Template::GateOverstay
                | Template::GateClosing
                | Template::DormEntryIncident
                | Template::DormAbsent
                | Template::DataRequestReceived
                | Template::DataRequestDue
                | Template::DataRequestAnswered,
                _,
            ) => super::gate_texts::patterns(self, lang),
            (Template::VettingExpiring, ZhCn) => (
                "入职查询即将到期",
                "{name}的准入查询将于{valid_until}到期（还剩{days}天）。到期后该人员将无法接触学生，请及时重新查询。",
            ),
            (Template::VettingExpiring, En) => (
                "A clearance ends soon",
                "The record check of {name} stands until {valid_until} ({days} days). After that they can no longer reach pupils; please have it checked again.",
            ),
            (Template::PickupRefused, ZhCn) => (
                "未授权人员试图接孩子",
                "{time}有未经授权的人员（{adult}）试图接走{student}，学校没有放行。",
            ),
            (Template::PickupRefused, En) => (
                "Unauthorised pickup attempt",
                "At {time} someone not authorised ({adult}) tried to pick up {student}. {student} was not released.",
            ),
            (Template::PickupBlockedAttempt, ZhCn) => (
                "紧急：禁止接送人试图接孩子",
                "{time}禁止接送名单上的人员（{adult}）试图接走{student}。学校没有放行，已通知校方。",
            ),
            (Template::PickupBlockedAttempt, En) => (
                "Urgent: a barred person tried to take a pupil",
                "At {time} a person on the never-release list ({adult}) tried to take {student}. {student} was not released; the school has been alerted.",
            ),
            (Template::PickupDisputed, ZhCn) => (
                "家长对交接有异议",
                "{student}的监护人对{time}交给{adult}的交接提出异议，请立即处理。",
            ),
            (Template::PickupDisputed, En) => (
                "Handover disputed",
                "A guardian of {student} disputes the handover to {adult} at {time}. Act at once.",
            ),
            (Template::PickupLate, ZhCn) => (
                "孩子尚未被接走",
                "放学时间{dismissal}已过，{student}还在等待接送。孩子在学校看护中，只有授权人员可以接走。",
            ),
            (Template::PickupLate, En) => (
                "Not picked up yet",
                "Dismissal was at {dismissal} and {student} is still waiting. {student} stays supervised at school and only an authorised adult can take them.",
            ),
            (Template::PickupLateEscalated, ZhCn) => (
                "孩子长时间未被接走",
                "放学时间{dismissal}已过{minutes}分钟，{student}仍未被接走，请联系家长。",
            ),
            (Template::PickupLateEscalated, En) => (
                "Pupil still not picked up",
                "{student} is still waiting {minutes} minutes after dismissal at {dismissal}. Please reach the family.",
            ),
            (Template::DismissalModeChanged, ZhCn) => (
                "放学方式已更改",
                "{student}的放学方式现在是：{mode}。",
            ),
            (Template::DismissalModeChanged, En) => (
                "Way home changed",
                "{student} now goes home: {mode}.",
            ),
            (Template::LeaveAwaitingDecision, ZhCn) => (
                "请假申请待审批",
                "{student}申请{kind}假，从{starts}到{ends}，等待您审批。",
            ),
            (Template::LeaveAwaitingDecision, En) => (
                "Leave request to decide",
                "{student} asks for {kind} leave from {starts} to {ends}; it waits for your decision.",
            ),
            (Template::LeaveApproved, ZhCn) => (
                "请假已批准",
                "{student}从{starts}到{ends}的请假已批准。",
            ),
            (Template::LeaveApproved, En) => (
                "Leave approved",
                "The leave of {student} from {starts} to {ends} is approved.",
            ),
            (Template::LeaveRejected, ZhCn) => (
                "请假未批准",
                "{student}从{starts}到{ends}的请假未获批准。",
            ),
            (Template::LeaveRejected, En) => (
                "Leave not approved",
                "The leave of {student} from {starts} to {ends} was not approved.",
            ),
            (Template::LeaveWithdrawn, ZhCn) => (
                "请假已撤回",
                "{student}从{starts}到{ends}的请假申请已撤回。",
            ),
            (Template::LeaveWithdrawn, En) => (
                "Leave withdrawn",
                "The leave request of {student} from {starts} to {ends} was withdrawn.",
            ),
            (Template::LeaveExited, ZhCn) => (
                "孩子已离校",
                "{student}于{time}离开学校（请假），接走人：{adult}。",
            ),
            (Template::LeaveExited, En) => (
                "Left school",
                "{student} left school on leave at {time} with {adult}.",
            ),
            (Template::LeaveReturned, ZhCn) => (
                "已销假",
                "{student}于{time}返校，请假结束。",
            ),
            (Template::LeaveReturned, En) => (
                "Back at school",
                "{student} came back at {time}; the leave has ended.",
            ),
            (Template::LeaveOverdue, ZhCn) => (
                "请假逾期未返校",
                "{student}的请假已于{ends}结束，但尚未返校销假。请立即确认孩子的去向。",
            ),
            (Template::LeaveOverdue, En) => (
                "Not back from leave",
                "The leave of {student} ended at {ends} and {student} has not come back. Please find out at once where {student} is.",
            ),
            (Template::LeaveOverdueEscalated, ZhCn) => (
                "请假逾期仍未返校",
                "{student}的请假已于{ends}结束，{minutes}分钟后仍未返校销假，请联系家长并按规定处置。",
            ),
            (Template::LeaveOverdueEscalated, En) => (
                "Still not back from leave",
                "{student} is still not back {minutes} minutes after the leave ended at {ends}. Reach the family and follow the school's procedure.",
            ),
            (Template::AbsenceUnexcused, ZhCn) => (
                "孩子缺课且未请假",
                "{student}在{date}第{period}节课缺席，且没有请假。请确认孩子的去向，并回复老师或补交请假。",
            ),
            (Template::AbsenceUnexcused, En) => (
                "Absent without leave",
                "{student} was not in class on {date} at period {period} and has no leave. Please check where {student} is, and answer the teacher or file a leave.",
            ),
            (Template::AbsenceWithdrawn, ZhCn) => (
                "缺课提醒已撤回",
                "更正：{student}在{date}第{period}节课并未缺席，之前的提醒作废。",
            ),
            (Template::AbsenceWithdrawn, En) => (
                "Absence alert withdrawn",
                "Correction: {student} was not absent on {date} at period {period}; please disregard the earlier alert.",
            ),
            (Template::AbsenceExplained, ZhCn) => (
                "家长已说明缺课原因",
                "{student}的监护人对{date}第{period}节课的缺席作了说明。",
            ),
            (Template::AbsenceExplained, En) => (
                "Absence explained",
                "A guardian of {student} explained the absence on {date} at period {period}.",
            ),
            (Template::ConcernRaised, ZhCn) => (
                "需关注的学生（保密）",
                "{student}在{days}天内有{count}天无故缺课，请按本学期专项排查要求跟进。此信息保密。",
            ),
            (Template::ConcernRaised, En) => (
                "Student to look after (confidential)",
                "{student} was absent without leave on {count} days within {days} days. Follow up as the semester screening asks. Confidential.",
            ),
            (Template::ConcernLogged, ZhCn) => (
                "紧急：教职工报告了一项关注",
                "{school}有教职工报告了一项关于学生安全的关注，请立即登录平安校园研判处理。",
            ),
            (Template::ConcernLogged, En) => (
                "Urgent: a member of staff raised a concern",
                "A member of staff at {school} raised a concern about a pupil's safety. Sign in to SafeCampus to triage it now.",
            ),
        }
    }

    pub fn render(self, lang: Language, data: &serde_json::Value) -> (String, String) {
        let (title, body) = self.patterns(lang);
        (fill(title, data), fill(body, data))
    }
}

fn fill(pattern: &str, data: &serde_json::Value) -> String {
    let mut out = String::with_capacity(pattern.len() + 32);
    let mut rest = pattern;
    while let Some(start) = rest.find('{') {
        out.push_str(&rest[..start]);
        let after = &rest[start + 1..];
        match after.find('}') {
            Some(end) => {
                let name = &after[..end];
                match data.get(name) {
                    Some(serde_json::Value::String(s)) => out.push_str(s),
                    Some(v) => out.push_str(&v.to_string()),
                    None => out.push('?'),
                }
                rest = &after[end + 1..];
            }
            None => {
                out.push_str(&rest[start..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}
