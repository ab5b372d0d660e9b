// The one schema for both backends: portable column types only.

diesel::table! {
    districts (id) {
        id -> Text,
        name -> Text,
        crisis_line -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    schools (id) {
        id -> Text,
        district_id -> Text,
        name -> Text,
        code -> Text,
        kind -> Text,
        timezone -> Text,
        dismissal_time -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    users (id) {
        id -> Text,
        district_id -> Text,
        school_id -> Nullable<Text>,
        role -> Text,
        username -> Text,
        display_name -> Text,
        phone -> Nullable<Text>,
        email -> Nullable<Text>,
        language -> Text,
        password_hash -> Text,
        disabled -> Bool,
        tokens_valid_after -> Timestamp,
        created_at -> Timestamp,
    }
}

diesel::table! {
    classes (id) {
        id -> Text,
        school_id -> Text,
        grade -> Integer,
        name -> Text,
        head_teacher_id -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    students (id) {
        id -> Text,
        school_id -> Text,
        class_id -> Text,
        name -> Text,
        student_no -> Text,
        grade -> Integer,
        handover_required -> Bool,
        user_id -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    guardianships (id) {
        id -> Text,
        student_id -> Text,
        user_id -> Text,
        relation -> Text,
        is_primary -> Bool,
        created_at -> Timestamp,
    }
}

diesel::table! {
    sessions (id) {
        id -> Text,
        user_id -> Text,
        created_at -> Timestamp,
        revoked_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    refresh_tokens (id) {
        id -> Text,
        session_id -> Text,
        token_hash -> Text,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        used_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    login_failures (id) {
        id -> Text,
        username -> Text,
        at -> Timestamp,
    }
}

diesel::table! {
    idempotency_keys (id) {
        id -> Text,
        scope -> Text,
        idem_key -> Text,
        request_hash -> Text,
        status -> Integer,
        body -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    notifications (id) {
        id -> Text,
        user_id -> Text,
        template -> Text,
        data -> Text,
        category -> Text,
        created_at -> Timestamp,
        read_at -> Nullable<Timestamp>,
        notice_id -> Nullable<Text>,
        batch_id -> Nullable<Text>,
        requires_ack -> Bool,
        acked_at -> Nullable<Timestamp>,
        delivered_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    audit_head (id) {
        id -> Integer,
        seq -> BigInt,
        hash -> Text,
    }
}

diesel::table! {
    audit_events (id) {
        id -> Text,
        seq -> BigInt,
        at -> Timestamp,
        actor_id -> Nullable<Text>,
        actor_role -> Nullable<Text>,
        action -> Text,
        target_type -> Text,
        target_id -> Nullable<Text>,
        school_id -> Nullable<Text>,
        prev_hash -> Text,
        hash -> Text,
    }
}

diesel::table! {
    notices (id) {
        id -> Text,
        district_id -> Text,
        school_id -> Nullable<Text>,
        sender_id -> Text,
        audience -> Text,
        to_whom -> Text,
        category -> Text,
        title -> Text,
        body -> Text,
        requires_ack -> Bool,
        ack_due_at -> Nullable<Timestamp>,
        escalated_at -> Nullable<Timestamp>,
        recipient_count -> Integer,
        created_at -> Timestamp,
    }
}

diesel::table! {
    notice_recipients (id) {
        id -> Text,
        notice_id -> Text,
        notification_id -> Text,
        user_id -> Text,
        student_id -> Text,
        class_id -> Text,
        school_id -> Text,
        kind -> Text,
    }
}

diesel::table! {
    notification_preferences (user_id, category) {
        user_id -> Text,
        category -> Text,
        in_app -> Bool,
        email -> Bool,
        push -> Bool,
        sms -> Bool,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    notification_settings (user_id) {
        user_id -> Text,
        quiet_start -> Text,
        quiet_end -> Text,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    outbox (id) {
        id -> Text,
        notification_id -> Text,
        user_id -> Text,
        channel -> Text,
        reason -> Text,
        urgent -> Bool,
        state -> Text,
        attempts -> Integer,
        next_attempt_at -> Timestamp,
        lease_until -> Nullable<Timestamp>,
        provider_id -> Nullable<Text>,
        last_error -> Nullable<Text>,
        created_at -> Timestamp,
        sent_at -> Nullable<Timestamp>,
    }
}

diesel::joinable!(schools -> districts (district_id));
diesel::joinable!(classes -> schools (school_id));
diesel::joinable!(students -> classes (class_id));
diesel::joinable!(students -> schools (school_id));
diesel::joinable!(guardianships -> students (student_id));
diesel::joinable!(guardianships -> users (user_id));
diesel::joinable!(sessions -> users (user_id));
diesel::joinable!(refresh_tokens -> sessions (session_id));
diesel::joinable!(notifications -> users (user_id));
diesel::joinable!(notifications -> notices (notice_id));
diesel::joinable!(notice_recipients -> notices (notice_id));
diesel::joinable!(notice_recipients -> notifications (notification_id));
diesel::joinable!(notice_recipients -> students (student_id));
diesel::joinable!(outbox -> notifications (notification_id));

diesel::allow_tables_to_appear_in_same_query!(
    districts,
    schools,
    users,
    classes,
    students,
    guardianships,
    sessions,
    refresh_tokens,
    login_failures,
    idempotency_keys,
    notifications,
    audit_head,
    audit_events,
    notices,
    notice_recipients,
    notification_preferences,
    notification_settings,
    outbox,
);
