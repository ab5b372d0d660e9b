//! Helpers behind `safecampus tipline …` and the demo: make a recipient key,
//! seal a text to a list of keys, open an envelope with a key file. They use
//! the same envelope code as the server and the tests.

use crate::crypto::envelope::{self, Envelope};
use crate::crypto::{b64u, b64u_decode, hpke};
use crate::db::schema::{schools, tip_mailbox_recipients as mr, tip_recipient_keys as rk, users};
use crate::db::{new_id, Db};
use crate::error::{ApiError, AppResult};
use chrono::NaiveDateTime;
use diesel::prelude::*;
use std::path::{Path, PathBuf};

/// Writes a new private key file (base64url, owner-readable only) and
/// returns the public key, base64url.
pub fn keygen(path: &Path) -> Result<String, String> {
    let (sk, pk) = hpke::generate();
    write_private_key(path, &sk)?;
    Ok(b64u(&hpke::public_key_bytes(&pk)))
}

fn write_private_key(path: &Path, sk: &hpke::PrivateKey) -> Result<(), String> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut f = options
        .open(path)
        .map_err(|e| format!("cannot create {}: {e}", path.display()))?;
    writeln!(f, "{}", b64u(&hpke::private_key_bytes(sk)))
        .map_err(|e| format!("cannot write {}: {e}", path.display()))
}

pub fn read_private_key(path: &Path) -> Result<hpke::PrivateKey, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    b64u_decode(text.trim())
        .and_then(|b| hpke::private_key_from_bytes(&b).ok())
        .ok_or_else(|| format!("{} does not hold a tip-line private key", path.display()))
}

/// Opens an envelope (or any JSON object with an `envelope` field, such as
/// a report) and returns the plaintext without its padding. A v2 envelope
/// opens only with a content key that matches its commitment; inside a
/// report (`GET /reports/{id}`) it must also be bound to the report's
/// metadata as shown, and a v2 report's envelope must be v2.
pub fn open(sk: &hpke::PrivateKey, input: &str) -> Result<String, String> {
    let value: serde_json::Value =
        serde_json::from_str(input).map_err(|e| format!("stdin is not JSON: {e}"))?;
    let (inner, report) = match value.get("envelope") {
        Some(inner) => (inner.clone(), Some(&value)),
        None => (value.clone(), None),
    };
    let env: Envelope =
        serde_json::from_value(inner).map_err(|e| format!("not an envelope: {e}"))?;
    let expected = report.and_then(report_aads);
    let v2_report = report.is_some_and(|r| r["protocol"] == 2);
    let bytes = match expected {
        Some(expected) if env.is_v2() || v2_report => env.open_bound(sk, &expected),
        _ => env.open(sk),
    }
    .map_err(|e| e.to_string())?;
    Ok(String::from_utf8_lossy(&bytes).trim_end().to_string())
}

/// The AADs a report's envelope may be bound to, from the report as shown.
fn report_aads(report: &serde_json::Value) -> Option<Vec<String>> {
    use crate::tipline::dto::{Category, Urgency};
    Some(crate::tipline::protocol::report_aads(
        Category::parse(report["category"].as_str()?)?,
        report["concerns_staff"].as_bool()?,
        report["school_code"].as_str()?,
        Urgency::parse(report["urgency"].as_str()?)?,
    ))
}

/// Seals `{"text": text}`, padded, to every key of a JSON list of
/// `{key_id, public_key}` (a mailbox's `recipient_keys`, a report's
/// `reply_keys`); with `aad`, a v2 envelope bound to it and committed.
pub fn seal(keys_json: &str, text: &str, aad: Option<&str>) -> Result<String, String> {
    let keys: Vec<serde_json::Value> =
        serde_json::from_str(keys_json).map_err(|e| format!("keys must be a JSON list: {e}"))?;
    let mut recipients = Vec::new();
    for k in keys {
        let (Some(id), Some(pk)) = (k["key_id"].as_str(), k["public_key"].as_str()) else {
            return Err("each key needs key_id and public_key".into());
        };
        let pk = b64u_decode(pk)
            .and_then(|b| hpke::public_key_from_bytes(&b).ok())
            .ok_or_else(|| format!("{id}: not an X25519 public key"))?;
        recipients.push((id.to_string(), pk));
    }
    let pt = envelope::padded_json(&serde_json::json!({ "text": text.trim_end() }));
    let env = match aad {
        Some(aad) => envelope::seal_v2(&recipients, &pt, aad),
        None => envelope::seal(&recipients, &pt),
    }
    .map_err(|e| e.to_string())?;
    Ok(serde_json::to_string_pretty(&env).expect("an envelope serialises"))
}

/// Gives the demo's principals, counsellors and bureau officers recipient
/// keys, makes the principals and counsellors their schools' recipients, and
/// writes each private key to `dir/<username>.key`.
pub fn seed_demo_keys(db: &Db, now: NaiveDateTime, dir: &Path) -> AppResult<Vec<PathBuf>> {
    std::fs::create_dir_all(dir).map_err(ApiError::internal)?;
    let people: Vec<(String, String, Option<String>, String)> = db.write_blocking(|conn| {
        Ok(users::table
            .filter(users::role.eq_any(["school_admin", "counselor", "bureau_officer"]))
            .select((users::id, users::username, users::school_id, users::role))
            .order(users::username)
            .load(conn)?)
    })?;
    let mut files = Vec::new();
    let mut rows = Vec::new();
    for (user_id, username, school_id, _) in &people {
        let path = dir.join(format!("{username}.key"));
        // A new demo database gets new keys; an old demo's file is stale.
        let _ = std::fs::remove_file(&path);
        let (sk, pk) = hpke::generate();
        write_private_key(&path, &sk).map_err(ApiError::internal)?;
        files.push(path);
        rows.push((
            user_id.clone(),
            school_id.clone(),
            b64u(&hpke::public_key_bytes(&pk)),
        ));
    }
    db.write_blocking(|conn| {
        for (user_id, school_id, public_key) in &rows {
            diesel::insert_into(rk::table)
                .values((
                    rk::id.eq(new_id(now)),
                    rk::user_id.eq(user_id),
                    rk::public_key.eq(public_key),
                    rk::created_at.eq(now),
                ))
                .execute(conn)?;
            if let Some(school) = school_id {
                let exists: i64 = schools::table.find(school).count().get_result(conn)?;
                if exists == 1 {
                    diesel::insert_into(mr::table)
                        .values((
                            mr::id.eq(new_id(now)),
                            mr::school_id.eq(school),
                            mr::user_id.eq(user_id),
                            mr::created_at.eq(now),
                        ))
                        .execute(conn)?;
                }
            }
        }
        Ok(())
    })?;
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keygen_seal_and_open_round_trip_through_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("me.key");
        let public = keygen(&path).unwrap();
        assert!(
            keygen(&path).is_err(),
            "an existing key file is never overwritten"
        );
        let keys = serde_json::json!([{"key_id": "k1", "public_key": public}]).to_string();
        let env = seal(&keys, "hello from the CLI\n", None).unwrap();
        let sk = read_private_key(&path).unwrap();
        assert_eq!(open(&sk, &env).unwrap(), r#"{"text":"hello from the CLI"}"#);
        let wrapped = format!(r#"{{"id": "r1", "envelope": {env}}}"#);
        assert!(open(&sk, &wrapped).unwrap().contains("hello from the CLI"));
        let (other, _) = hpke::generate();
        assert!(open(&other, &env).is_err());
    }

    #[test]
    fn a_v2_report_opens_only_with_the_metadata_it_was_bound_to() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("me.key");
        let public = keygen(&path).unwrap();
        let sk = read_private_key(&path).unwrap();
        let keys = serde_json::json!([{"key_id": "k1", "public_key": public}]).to_string();
        let aad = crate::tipline::protocol::report_aad(
            crate::tipline::dto::Category::Harassment,
            false,
            "SCH-X",
            crate::tipline::dto::Urgency::Urgent,
        );
        let env = seal(&keys, "bound", Some(&aad)).unwrap();
        let report = |urgency: &str, staff: bool| {
            format!(
                r#"{{"category":"harassment","urgency":"{urgency}","concerns_staff":{staff},
                "school_code":"SCH-X","protocol":2,"envelope":{env}}}"#
            )
        };
        assert!(open(&sk, &report("urgent", false))
            .unwrap()
            .contains("bound"));
        // The bureau's later finding that it concerns staff keeps it readable.
        assert!(open(&sk, &report("urgent", true)).is_ok());
        // Someone with the database flipped the urgency: refused.
        assert!(open(&sk, &report("normal", false)).is_err());
        // A v1 envelope where the report says v2: refused.
        let v1 = seal(&keys, "unbound", None).unwrap();
        let claimed = format!(
            r#"{{"category":"harassment","urgency":"urgent","concerns_staff":false,
            "school_code":"SCH-X","protocol":2,"envelope":{v1}}}"#
        );
        assert!(open(&sk, &claimed).is_err());
    }
}
