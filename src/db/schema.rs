// The one schema for both backends: portable column types only.

diesel::table! {
    districts (id) {
        id -> Text,
        name -> Text,
        crisis_line -> Text,
        created_at -> Timestamp,
        vetting_requires_commitment -> Bool,
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
        closing_time -> Text,
    }
}

diesel::table! {
    dorms (id) {
        id -> Text,
        school_id -> Text,
        name -> Text,
        kind -> Text,
        created_by -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    dorm_residents (dorm_id, student_id) {
        dorm_id -> Text,
        student_id -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    dorm_staff (dorm_id, user_id) {
        dorm_id -> Text,
        user_id -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    dorm_entries (id) {
        id -> Text,
        dorm_id -> Text,
        name -> Text,
        user_id -> Nullable<Text>,
        reason -> Nullable<Text>,
        approved_by -> Nullable<Text>,
        incident -> Bool,
        entered_at -> Timestamp,
        recorded_by -> Text,
    }
}

diesel::table! {
    dorm_roll_calls (id) {
        id -> Text,
        dorm_id -> Text,
        local_date -> Text,
        taken_by -> Text,
        taken_at -> Timestamp,
    }
}

diesel::table! {
    dorm_absences (roll_call_id, student_id) {
        roll_call_id -> Text,
        student_id -> Text,
        excused_by_leave -> Nullable<Text>,
    }
}

diesel::table! {
    gate_closing_alerts (school_id, local_date) {
        school_id -> Text,
        local_date -> Text,
        sent_at -> Timestamp,
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
        sex -> Nullable<Text>,
        password_change_required -> Bool,
    }
}

diesel::table! {
    staff_departures (user_id) {
        user_id -> Text,
        school_id -> Text,
        effective_on -> Text,
        effective_at -> Timestamp,
        requested_by -> Text,
        created_at -> Timestamp,
        done_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    activation_codes (user_id) {
        user_id -> Text,
        code_hash -> Text,
        expires_at -> Timestamp,
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
        sex -> Nullable<Text>,
        left_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    student_transfers (id) {
        id -> Text,
        district_id -> Text,
        student_id -> Text,
        from_school_id -> Text,
        to_school_id -> Text,
        to_class_id -> Text,
        status -> Text,
        requested_by -> Text,
        requested_at -> Timestamp,
        decided_by -> Nullable<Text>,
        decided_at -> Nullable<Timestamp>,
        new_student_id -> Nullable<Text>,
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
        client -> Text,
    }
}

diesel::table! {
    login_devices (id) {
        id -> Text,
        user_id -> Text,
        token_hash -> Text,
        created_at -> Timestamp,
        last_used_at -> Timestamp,
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
        keyed -> Bool,
    }
}

diesel::table! {
    record_changes (event_id) {
        event_id -> Text,
        before_json -> Text,
        after_json -> Text,
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
    tip_recipient_keys (id) {
        id -> Text,
        user_id -> Text,
        public_key -> Text,
        key_backup -> Nullable<Text>,
        created_at -> Timestamp,
        retired_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    tip_mailbox_recipients (id) {
        id -> Text,
        school_id -> Text,
        user_id -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    tip_pow_spent (id) {
        id -> Text,
        expires_at -> Timestamp,
    }
}

diesel::table! {
    tip_reports (id) {
        id -> Text,
        district_id -> Text,
        school_id -> Text,
        category -> Text,
        urgency -> Text,
        concerns_staff -> Bool,
        status -> Text,
        receipt_mac -> Text,
        reporter_public_key -> Text,
        envelope -> Text,
        created_at -> Timestamp,
        last_activity_at -> Timestamp,
        escalated_at -> Nullable<Timestamp>,
        outcome -> Nullable<Text>,
        close_requested_by -> Nullable<Text>,
        close_outcome -> Nullable<Text>,
        close_note -> Nullable<Text>,
        message_seq -> Integer,
        due_at -> Nullable<Timestamp>,
        protocol -> Integer,
        submission_digest -> Nullable<Text>,
        window_end -> Nullable<Timestamp>,
        held -> Bool,
    }
}

diesel::table! {
    tip_recipient_changes (id) {
        id -> Text,
        district_id -> Text,
        school_id -> Text,
        proposed_by -> Text,
        user_ids -> Text,
        status -> Text,
        created_at -> Timestamp,
        decided_by -> Nullable<Text>,
        decided_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    tip_messages (id) {
        id -> Text,
        report_id -> Text,
        sender -> Text,
        author_id -> Nullable<Text>,
        is_attachment -> Bool,
        envelope -> Text,
        created_at -> Timestamp,
        seq -> Integer,
        window_end -> Nullable<Timestamp>,
        held -> Bool,
    }
}

diesel::table! {
    tip_report_access (id) {
        id -> Text,
        report_id -> Text,
        user_id -> Text,
        kind -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    tip_report_reads (id) {
        id -> Text,
        report_id -> Text,
        user_id -> Text,
        read_at -> Timestamp,
    }
}

diesel::table! {
    tip_report_events (id) {
        id -> Text,
        report_id -> Text,
        actor_id -> Nullable<Text>,
        action -> Text,
        status -> Text,
        note -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    tip_attachment_blobs (id) {
        id -> Text,
        message_id -> Text,
        report_id -> Text,
        district_id -> Text,
        size -> BigInt,
        sha256 -> Text,
        created_at -> Timestamp,
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
        status -> Text,
        confirmed_by -> Nullable<Text>,
        confirmed_at -> Nullable<Timestamp>,
        court_order_ref -> Nullable<Text>,
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
        school_id -> Text,
        kind -> Text,
        student_id -> Text,
        window_start -> Nullable<Text>,
        window_end -> Nullable<Text>,
        absence_days -> Nullable<Integer>,
        category -> Nullable<Text>,
        author_id -> Nullable<Text>,
        what_happened -> Nullable<Text>,
        location -> Nullable<Text>,
        happened_at -> Nullable<Timestamp>,
        child_words -> Nullable<Text>,
        action_taken -> Nullable<Text>,
        status -> Text,
        triage_note -> Nullable<Text>,
        triaged_by -> Nullable<Text>,
        triaged_at -> Nullable<Timestamp>,
        case_id -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    consents (student_id, purpose) {
        student_id -> Text,
        purpose -> Text,
        given -> Bool,
        guardian_id -> Text,
        policy_version -> Text,
        channel -> Text,
        decided_at -> Timestamp,
    }
}

diesel::table! {
    data_requests (id) {
        id -> Text,
        school_id -> Text,
        requester_id -> Text,
        student_id -> Nullable<Text>,
        kind -> Text,
        detail -> Text,
        status -> Text,
        due_on -> Text,
        alert_on -> Text,
        alerted_at -> Nullable<Timestamp>,
        answer -> Nullable<Text>,
        answered_by -> Nullable<Text>,
        answered_at -> Nullable<Timestamp>,
        export -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    concern_students (concern_id, student_id) {
        concern_id -> Text,
        student_id -> Text,
    }
}

diesel::table! {
    personnel (id) {
        id -> Text,
        district_id -> Text,
        school_id -> Text,
        user_id -> Nullable<Text>,
        name -> Text,
        kind -> Text,
        employer -> Nullable<Text>,
        id_last4 -> Nullable<Text>,
        id_hmac -> Nullable<Text>,
        starts_on -> Text,
        grace_pending -> Bool,
        grace_until -> Nullable<Timestamp>,
        access_until -> Nullable<Timestamp>,
        created_at -> Timestamp,
        suspended_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    vetting_checks (id) {
        id -> Text,
        personnel_id -> Text,
        kind -> Text,
        checked_on -> Text,
        authority -> Text,
        reference -> Text,
        result -> Text,
        consent_ref -> Text,
        recorded_by -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    vetting_commitments (id) {
        id -> Text,
        personnel_id -> Text,
        document_version -> Text,
        signed_on -> Text,
        recorded_by -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    vetting_trainings (id) {
        id -> Text,
        personnel_id -> Text,
        course -> Text,
        hours -> Integer,
        completed_on -> Text,
        recorded_by -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    vetting_reminders (personnel_id, valid_until, days_before) {
        personnel_id -> Text,
        valid_until -> Text,
        days_before -> Integer,
        sent_at -> Timestamp,
    }
}

diesel::table! {
    watch_list (id) {
        id -> Text,
        district_id -> Text,
        school_id -> Nullable<Text>,
        personnel_id -> Nullable<Text>,
        name -> Text,
        id_last4 -> Nullable<Text>,
        id_hmac -> Nullable<Text>,
        reason -> Text,
        created_at -> Timestamp,
        phone -> Nullable<Text>,
        plate -> Nullable<Text>,
        note -> Nullable<Text>,
        created_by -> Nullable<Text>,
        lifted_at -> Nullable<Timestamp>,
        lifted_by -> Nullable<Text>,
        lift_note -> Nullable<Text>,
    }
}

diesel::table! {
    visits (id) {
        id -> Text,
        school_id -> Text,
        host_user_id -> Text,
        visitor_name -> Text,
        visitor_phone -> Text,
        id_last4 -> Nullable<Text>,
        id_hmac -> Nullable<Text>,
        purpose -> Text,
        vehicle_plate -> Nullable<Text>,
        window_from -> Timestamp,
        window_until -> Timestamp,
        code_hash -> Nullable<Text>,
        walk_in -> Bool,
        status -> Text,
        created_by -> Text,
        created_at -> Timestamp,
        decided_by -> Nullable<Text>,
        decided_at -> Nullable<Timestamp>,
        checked_in_at -> Nullable<Timestamp>,
        checked_in_by -> Nullable<Text>,
        checked_out_at -> Nullable<Timestamp>,
        checked_out_by -> Nullable<Text>,
        overstay_alerted_at -> Nullable<Timestamp>,
        case_id -> Nullable<Text>,
    }
}

diesel::table! {
    cases (id) {
        id -> Text,
        district_id -> Text,
        school_id -> Text,
        number -> Text,
        category -> Text,
        mandatory -> Bool,
        status -> Text,
        source_kind -> Text,
        source_ref -> Nullable<Text>,
        summary -> Text,
        suspect_kind -> Text,
        suspect_user_id -> Nullable<Text>,
        suspect_personnel_id -> Nullable<Text>,
        opened_by -> Text,
        opened_at -> Timestamp,
        police_due_at -> Nullable<Timestamp>,
        police_reported_at -> Nullable<Timestamp>,
        ack_due_at -> Timestamp,
        acknowledged_at -> Nullable<Timestamp>,
        acknowledged_by -> Nullable<Text>,
        outcome -> Nullable<Text>,
        close_proposed_by -> Nullable<Text>,
        close_proposed_at -> Nullable<Timestamp>,
        closed_by -> Nullable<Text>,
        closed_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    case_students (case_id, student_id) {
        case_id -> Text,
        student_id -> Text,
    }
}

diesel::table! {
    safeguarding_leads (school_id, user_id) {
        school_id -> Text,
        user_id -> Text,
        named_by -> Nullable<Text>,
        named_at -> Timestamp,
    }
}

diesel::table! {
    case_handlers (case_id, user_id) {
        case_id -> Text,
        user_id -> Text,
    }
}

diesel::table! {
    case_entries (id) {
        id -> Text,
        case_id -> Text,
        seq -> Integer,
        kind -> Text,
        author_id -> Nullable<Text>,
        body -> Text,
        corrects -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    case_police_reports (id) {
        id -> Text,
        case_id -> Text,
        reported_at -> Timestamp,
        station -> Text,
        reference -> Text,
        channel -> Text,
        recorded_by -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    case_support (id) {
        id -> Text,
        case_id -> Text,
        kind -> Text,
        partner -> Nullable<Text>,
        given_on -> Text,
        note -> Text,
        recorded_by -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    case_measures (id) {
        id -> Text,
        case_id -> Text,
        kind -> Text,
        target -> Nullable<Text>,
        note -> Text,
        recorded_by -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    case_alerts (case_id, kind) {
        case_id -> Text,
        kind -> Text,
        sent_at -> Timestamp,
    }
}

diesel::joinable!(schools -> districts (district_id));
diesel::joinable!(personnel -> schools (school_id));
diesel::joinable!(vetting_checks -> personnel (personnel_id));
diesel::joinable!(classes -> schools (school_id));
diesel::joinable!(students -> classes (class_id));
diesel::joinable!(students -> schools (school_id));
diesel::joinable!(guardianships -> students (student_id));
diesel::joinable!(guardianships -> users (user_id));
diesel::joinable!(sessions -> users (user_id));
diesel::joinable!(activation_codes -> users (user_id));
diesel::joinable!(staff_departures -> schools (school_id));
diesel::joinable!(login_devices -> users (user_id));
diesel::joinable!(refresh_tokens -> sessions (session_id));
diesel::joinable!(notifications -> users (user_id));
diesel::joinable!(tip_recipient_keys -> users (user_id));
diesel::joinable!(tip_mailbox_recipients -> users (user_id));
diesel::joinable!(tip_mailbox_recipients -> schools (school_id));
diesel::joinable!(tip_reports -> schools (school_id));
diesel::joinable!(tip_recipient_changes -> schools (school_id));
diesel::joinable!(tip_messages -> tip_reports (report_id));
diesel::joinable!(tip_report_access -> tip_reports (report_id));
diesel::joinable!(tip_report_reads -> tip_reports (report_id));
diesel::joinable!(tip_report_events -> tip_reports (report_id));
diesel::joinable!(tip_attachment_blobs -> tip_messages (message_id));
diesel::joinable!(pickup_persons -> students (student_id));
diesel::joinable!(pickup_blocks -> students (student_id));
diesel::joinable!(pickup_passes -> students (student_id));
diesel::joinable!(handovers -> students (student_id));
diesel::joinable!(pickup_dismissal_modes -> students (student_id));
diesel::joinable!(notifications -> notices (notice_id));
diesel::joinable!(notice_recipients -> notices (notice_id));
diesel::joinable!(notice_recipients -> notifications (notification_id));
diesel::joinable!(notice_recipients -> students (student_id));
diesel::joinable!(outbox -> notifications (notification_id));
diesel::joinable!(leave_requests -> students (student_id));
diesel::joinable!(leave_overdue_alerts -> leave_requests (leave_id));
diesel::joinable!(absences -> students (student_id));
diesel::joinable!(absences -> roll_calls (roll_call_id));
diesel::joinable!(concerns -> students (student_id));
diesel::joinable!(concern_students -> concerns (concern_id));
diesel::joinable!(concern_students -> students (student_id));
diesel::joinable!(cases -> schools (school_id));
diesel::joinable!(record_changes -> audit_events (event_id));
diesel::joinable!(case_students -> cases (case_id));
diesel::joinable!(case_students -> students (student_id));
diesel::joinable!(case_handlers -> cases (case_id));
diesel::joinable!(case_entries -> cases (case_id));
diesel::joinable!(case_police_reports -> cases (case_id));
diesel::joinable!(case_support -> cases (case_id));
diesel::joinable!(case_measures -> cases (case_id));
diesel::joinable!(case_alerts -> cases (case_id));
diesel::joinable!(visits -> schools (school_id));
diesel::joinable!(dorms -> schools (school_id));
diesel::joinable!(dorm_residents -> dorms (dorm_id));
diesel::joinable!(dorm_residents -> students (student_id));
diesel::joinable!(dorm_staff -> dorms (dorm_id));
diesel::joinable!(dorm_staff -> users (user_id));
diesel::joinable!(dorm_entries -> dorms (dorm_id));
diesel::joinable!(dorm_roll_calls -> dorms (dorm_id));

diesel::allow_tables_to_appear_in_same_query!(
    districts,
    cases,
    case_students,
    case_handlers,
    case_entries,
    case_police_reports,
    case_support,
    case_measures,
    case_alerts,
    personnel,
    vetting_checks,
    vetting_commitments,
    vetting_trainings,
    vetting_reminders,
    watch_list,
    visits,
    gate_closing_alerts,
    dorms,
    dorm_residents,
    dorm_staff,
    dorm_entries,
    dorm_roll_calls,
    dorm_absences,
    schools,
    users,
    classes,
    students,
    guardianships,
    sessions,
    refresh_tokens,
    login_failures,
    login_devices,
    idempotency_keys,
    notifications,
    audit_head,
    audit_events,
    record_changes,
    activation_codes,
    staff_departures,
    tip_recipient_keys,
    tip_mailbox_recipients,
    tip_pow_spent,
    tip_reports,
    tip_messages,
    tip_report_access,
    tip_report_reads,
    tip_report_events,
    tip_attachment_blobs,
    tip_recipient_changes,
    pickup_settings,
    pickup_dismissal_times,
    pickup_closed_days,
    pickup_persons,
    pickup_blocks,
    pickup_passes,
    pickup_dismissal_modes,
    handovers,
    pickup_late_alerts,
    notices,
    notice_recipients,
    notification_preferences,
    notification_settings,
    outbox,
    leave_requests,
    leave_overdue_alerts,
    roll_calls,
    absences,
    concern_students,
    concerns,
    safeguarding_leads,
    student_transfers,
    consents,
    data_requests,
);
