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
    pickup_settings (school_id) {
        school_id -> Text,
        late_threshold_minutes -> Integer,
        pass_cutoff -> Nullable<Text>,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    pickup_dismissal_times (id) {
        id -> Text,
        school_id -> Text,
        weekday -> Nullable<Integer>,
        grade -> Nullable<Integer>,
        dismissal_time -> Text,
    }
}

diesel::table! {
    pickup_closed_days (school_id, local_date) {
        school_id -> Text,
        local_date -> Text,
    }
}

diesel::table! {
    pickup_persons (id) {
        id -> Text,
        student_id -> Text,
        name -> Text,
        name_norm -> Text,
        relation -> Text,
        phone -> Text,
        id_last4 -> Nullable<Text>,
        photo -> Nullable<Binary>,
        photo_type -> Nullable<Text>,
        valid_from -> Text,
        valid_until -> Text,
        weekdays -> Integer,
        created_by -> Text,
        created_at -> Timestamp,
        revoked_at -> Nullable<Timestamp>,
        revoked_by -> Nullable<Text>,
    }
}

diesel::table! {
    pickup_blocks (id) {
        id -> Text,
        student_id -> Text,
        name -> Text,
        name_norm -> Text,
        phone -> Nullable<Text>,
        id_last4 -> Nullable<Text>,
        note -> Text,
        court_order -> Bool,
        created_by -> Text,
        created_at -> Timestamp,
        lifted_at -> Nullable<Timestamp>,
        lifted_by -> Nullable<Text>,
        lift_note -> Nullable<Text>,
    }
}

diesel::table! {
    pickup_passes (id) {
        id -> Text,
        student_id -> Text,
        pickup_person_id -> Nullable<Text>,
        valid_on -> Text,
        code_hash -> Text,
        qr_token_hash -> Text,
        expires_at -> Timestamp,
        issued_by -> Text,
        created_at -> Timestamp,
        used_at -> Nullable<Timestamp>,
        cancelled_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    pickup_dismissal_modes (student_id) {
        student_id -> Text,
        mode -> Text,
        set_by -> Text,
        approved_by -> Nullable<Text>,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    handovers (id) {
        id -> Text,
        student_id -> Text,
        school_id -> Text,
        class_id -> Text,
        local_date -> Text,
        adult_kind -> Text,
        guardian_user_id -> Nullable<Text>,
        pickup_person_id -> Nullable<Text>,
        pass_id -> Nullable<Text>,
        released_name -> Text,
        released_relation -> Text,
        released_by -> Text,
        at -> Timestamp,
        confirmed_at -> Nullable<Timestamp>,
        disputed_at -> Nullable<Timestamp>,
        dispute_note -> Nullable<Text>,
        answered_by -> Nullable<Text>,
    }
}

diesel::table! {
    pickup_late_alerts (id) {
        id -> Text,
        student_id -> Text,
        local_date -> Text,
        level -> Integer,
        created_at -> Timestamp,
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
diesel::joinable!(pickup_persons -> students (student_id));
diesel::joinable!(pickup_blocks -> students (student_id));
diesel::joinable!(pickup_passes -> students (student_id));
diesel::joinable!(handovers -> students (student_id));
diesel::joinable!(pickup_dismissal_modes -> students (student_id));

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
    pickup_settings,
    pickup_dismissal_times,
    pickup_closed_days,
    pickup_persons,
    pickup_blocks,
    pickup_passes,
    pickup_dismissal_modes,
    handovers,
    pickup_late_alerts,
    leave_requests,
    leave_overdue_alerts,
    roll_calls,
    absences,
    concerns,
);

diesel::table! {
    leave_requests (id) {
        id -> Text,
        student_id -> Text,
        school_id -> Text,
        class_id -> Text,
        kind -> Text,
        starts_at -> Timestamp,
        ends_at -> Timestamp,
        reason -> Text,
        leaves_campus -> Bool,
        pickup_person_id -> Nullable<Text>,
        requested_by -> Text,
        requester_role -> Text,
        status -> Text,
        needs_school -> Bool,
        guardian_decided_by -> Nullable<Text>,
        guardian_note -> Nullable<Text>,
        teacher_decided_by -> Nullable<Text>,
        teacher_note -> Nullable<Text>,
        school_decided_by -> Nullable<Text>,
        school_note -> Nullable<Text>,
        code_hash -> Nullable<Text>,
        qr_token_hash -> Nullable<Text>,
        left_at -> Nullable<Timestamp>,
        exit_by -> Nullable<Text>,
        exit_adult_kind -> Nullable<Text>,
        exit_adult_name -> Nullable<Text>,
        returned_at -> Nullable<Timestamp>,
        returned_by -> Nullable<Text>,
        overdue_at -> Nullable<Timestamp>,
        withdrawn_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    leave_overdue_alerts (id) {
        id -> Text,
        leave_id -> Text,
        level -> Integer,
        created_at -> Timestamp,
    }
}

diesel::table! {
    roll_calls (id) {
        id -> Text,
        class_id -> Text,
        school_id -> Text,
        local_date -> Text,
        period -> Integer,
        taken_by -> Text,
        taken_at -> Timestamp,
        corrected_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    absences (id) {
        id -> Text,
        roll_call_id -> Text,
        student_id -> Text,
        school_id -> Text,
        local_date -> Text,
        period -> Integer,
        excused -> Bool,
        leave_id -> Nullable<Text>,
        explanation -> Nullable<Text>,
        explained_by -> Nullable<Text>,
        explained_at -> Nullable<Timestamp>,
        withdrawn_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    concerns (id) {
        id -> Text,
        student_id -> Text,
        school_id -> Text,
        window_start -> Text,
        window_end -> Text,
        absence_days -> Integer,
        created_at -> Timestamp,
    }
}

diesel::joinable!(leave_requests -> students (student_id));
diesel::joinable!(leave_overdue_alerts -> leave_requests (leave_id));
diesel::joinable!(absences -> students (student_id));
diesel::joinable!(absences -> roll_calls (roll_call_id));
diesel::joinable!(concerns -> students (student_id));
