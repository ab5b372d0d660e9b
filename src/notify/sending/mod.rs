//! The sending core: what other domains call to tell someone something.
//! `send` writes the feed items and their outbox rows in the caller's
//! transaction; the workers (`outbox`) carry them to email, push and SMS
//! (`channels`); `templates` holds the categories and every system text.
//! Nothing here knows about HTTP.

pub mod channels;
mod gate_texts;
pub mod outbox;
pub mod templates;

use crate::db::{new_id, AnyConnection};
use crate::error::AppResult;
use crate::notify::repo::feed;
use chrono::NaiveDateTime;
use outbox::{Reason, Selector};
use templates::{Category, Template};

/// Records one notification for each user, in the caller's transaction, and
/// the outbox rows that deliver it on each user's enabled external channels.
pub fn send(
    conn: &mut AnyConnection,
    now: NaiveDateTime,
    user_ids: &[String],
    template: Template,
    data: serde_json::Value,
    category: Category,
) -> AppResult<()> {
    if user_ids.is_empty() {
        return Ok(());
    }
    let batch = new_id(now);
    let student = data
        .get("student_id")
        .and_then(|s| s.as_str())
        .map(str::to_string);
    let data = data.to_string();
    feed::insert_batch(
        conn,
        now,
        &batch,
        user_ids,
        template.key(),
        &data,
        category.as_str(),
    )?;
    // Push about a pupil under 14 needs a guardian's consent.
    outbox::enqueue(
        conn,
        now,
        Selector::Batch(&batch),
        Reason::Initial,
        category,
        student.as_deref(),
    )?;
    Ok(())
}

#[cfg(test)]
mod template_tests {
    use super::templates::Template;
    use crate::i18n::Language;

    #[test]
    fn every_template_renders_in_both_languages_with_its_data() {
        let data = serde_json::json!({"student": "Xiaoming", "school": "No. 1 Primary", "relation": "mother"});
        for &t in Template::ALL {
            for lang in [Language::ZhCn, Language::En] {
                let (title, body) = t.render(lang, &data);
                assert!(!title.is_empty() && !body.contains('{'), "{t:?} {lang:?}");
            }
            assert_eq!(Template::from_key(t.key()), Some(t));
        }
        let (_, body) = Template::GuardianLinked.render(Language::En, &data);
        assert!(body.contains("Xiaoming") && body.contains("No. 1 Primary"));
    }
}
