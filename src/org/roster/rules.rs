//! A roster file as the school's spreadsheet writes it: decoded (UTF-8, or
//! GB18030 as Excel in China saves), split into rows, and every value
//! checked, each problem named by line and column. Pure: no database.

use crate::http::Text;
use crate::org::dto::{Phone, Sex};
use std::collections::HashMap;

/// The columns, in order, as the first line names them.
pub const COLUMNS: [&str; 13] = [
    "student_no",
    "name",
    "grade",
    "class",
    "sex",
    "guardian1_name",
    "guardian1_phone",
    "guardian1_relation",
    "guardian1_primary",
    "guardian2_name",
    "guardian2_phone",
    "guardian2_relation",
    "guardian2_primary",
];

/// What is wrong, where: `line` 1 is the header.
#[derive(Debug, Clone, PartialEq, serde::Serialize, utoipa::ToSchema)]
pub struct RowError {
    pub line: u64,
    pub column: String,
    pub message: String,
}

fn error(line: u64, column: &str, message: impl Into<String>) -> RowError {
    RowError {
        line,
        column: column.to_string(),
        message: message.into(),
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct GuardianIn {
    pub name: String,
    /// Digits only, with a leading '+' when given.
    pub phone: String,
    pub relation: String,
    pub primary: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PupilIn {
    pub line: u64,
    pub student_no: String,
    pub name: String,
    pub grade: i32,
    pub class: String,
    pub sex: Option<Sex>,
    pub guardians: Vec<GuardianIn>,
}

/// The text of a file: UTF-8 (a byte-order mark is dropped), otherwise
/// GB18030 (which contains GBK); bytes that are neither are refused.
pub fn decode(bytes: &[u8]) -> Result<String, RowError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    if let Ok(text) = std::str::from_utf8(bytes) {
        return Ok(text.to_string());
    }
    encoding_rs::GB18030
        .decode_without_bom_handling_and_without_replacement(bytes)
        .map(|t| t.into_owned())
        .ok_or_else(|| error(1, "*", "the file is neither UTF-8 nor GB18030 text"))
}

fn text<const MAX: usize>(line: u64, column: &str, value: &str) -> Result<String, RowError> {
    Text::<MAX>::parse(value.trim().to_string())
        .map(Text::into_string)
        .map_err(|m| error(line, column, m))
}

fn flag(line: u64, column: &str, value: &str) -> Result<bool, RowError> {
    match value.trim().to_lowercase().as_str() {
        "y" | "yes" | "1" | "true" | "是" => Ok(true),
        "n" | "no" | "0" | "false" | "否" | "" => Ok(false),
        _ => Err(error(line, column, "must be Y or N (是 or 否)")),
    }
}

fn phone(line: u64, column: &str, value: &str) -> Result<String, RowError> {
    let p = Phone::parse(value).map_err(|m| error(line, column, m))?;
    Ok(p.as_str()
        .chars()
        .filter(|c| c.is_ascii_digit() || *c == '+')
        .collect())
}

fn guardian(line: u64, n: usize, f: &[&str]) -> Result<Option<GuardianIn>, Vec<RowError>> {
    let col = |what: &str| format!("guardian{n}_{what}");
    if f.iter().all(|v| v.trim().is_empty()) {
        return Ok(None);
    }
    let mut errs = Vec::new();
    let name = text::<100>(line, &col("name"), f[0])
        .map_err(|e| errs.push(e))
        .ok();
    let phone = phone(line, &col("phone"), f[1])
        .map_err(|e| errs.push(e))
        .ok();
    let relation = text::<32>(line, &col("relation"), f[2])
        .map_err(|e| errs.push(e))
        .ok();
    let primary = flag(line, &col("primary"), f[3])
        .map_err(|e| errs.push(e))
        .ok();
    match (name, phone, relation, primary) {
        (Some(name), Some(phone), Some(relation), Some(primary)) if errs.is_empty() => {
            Ok(Some(GuardianIn {
                name,
                phone,
                relation,
                primary,
            }))
        }
        _ => Err(errs),
    }
}

fn row(line: u64, f: &[&str]) -> Result<PupilIn, Vec<RowError>> {
    let mut errs = Vec::new();
    let student_no = text::<32>(line, "student_no", f[0])
        .map_err(|e| errs.push(e))
        .ok();
    let name = text::<100>(line, "name", f[1])
        .map_err(|e| errs.push(e))
        .ok();
    let grade = match f[2].trim().parse::<i32>() {
        Ok(g) if (0..=12).contains(&g) => Some(g),
        _ => {
            errs.push(error(line, "grade", "must be a whole number from 0 to 12"));
            None
        }
    };
    let class = text::<50>(line, "class", f[3])
        .map_err(|e| errs.push(e))
        .ok();
    // Optional, as in `POST /students`: kept only where a rule needs it (a
    // boarding school's dormitories are by sex); leave the column empty
    // otherwise.
    let sex = match f[4].trim() {
        "" => None,
        "M" | "m" | "男" => Some(Sex::Male),
        "F" | "f" | "女" => Some(Sex::Female),
        _ => {
            errs.push(error(line, "sex", "must be M or F (男 or 女), or empty"));
            None
        }
    };
    let mut guardians = Vec::new();
    for (n, cols) in [(1, &f[5..9]), (2, &f[9..13])] {
        match guardian(line, n, cols) {
            Ok(Some(g)) => guardians.push(g),
            Ok(None) if n == 1 => errs.push(error(
                line,
                "guardian1_name",
                "every pupil needs a guardian",
            )),
            Ok(None) => {}
            Err(e) => errs.extend(e),
        }
    }
    if guardians.len() == 2 && guardians[0].phone == guardians[1].phone {
        errs.push(error(
            line,
            "guardian2_phone",
            "the two guardians have the same phone",
        ));
    }
    if !guardians.is_empty() && !guardians.iter().any(|g| g.primary) {
        errs.push(error(
            line,
            "guardian1_primary",
            "one guardian must be primary",
        ));
    }
    match (student_no, name, grade, class) {
        (Some(student_no), Some(name), Some(grade), Some(class)) if errs.is_empty() => {
            Ok(PupilIn {
                line,
                student_no,
                name,
                grade,
                class,
                sex,
                guardians,
            })
        }
        _ => Err(errs),
    }
}

/// Every row of the file, or every problem in it.
pub fn parse(text: &str) -> Result<Vec<PupilIn>, Vec<RowError>> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    let mut records = reader.records();
    let header = match records.next() {
        Some(Ok(h)) => h,
        Some(Err(e)) => return Err(vec![error(1, "*", e.to_string())]),
        None => return Err(vec![error(1, "*", "the file is empty")]),
    };
    let mut errs = Vec::new();
    for (i, name) in header.iter().enumerate() {
        let name = name.trim().to_lowercase();
        match COLUMNS.get(i) {
            Some(expected) if *expected == name => {}
            _ if !COLUMNS.contains(&name.as_str()) => errs.push(error(
                1,
                &name,
                format!("unknown column; the columns are {}", COLUMNS.join(",")),
            )),
            _ => errs.push(error(
                1,
                &name,
                format!("out of place; the columns are {}", COLUMNS.join(",")),
            )),
        }
    }
    if header.len() < COLUMNS.len() {
        errs.push(error(1, COLUMNS[header.len()], "missing column"));
    }
    if !errs.is_empty() {
        return Err(errs);
    }
    let mut pupils = Vec::new();
    let mut seen: HashMap<String, u64> = HashMap::new();
    for rec in records {
        let rec = match rec {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map(|p| p.line()).unwrap_or(0);
                errs.push(error(line, "*", e.to_string()));
                continue;
            }
        };
        let line = rec.position().map(|p| p.line()).unwrap_or(0);
        if rec.iter().all(|v| v.trim().is_empty()) {
            continue;
        }
        if rec.len() != COLUMNS.len() {
            errs.push(error(
                line,
                COLUMNS.get(rec.len()).unwrap_or(&"*"),
                format!(
                    "the row has {} values; every row has {}",
                    rec.len(),
                    COLUMNS.len()
                ),
            ));
            continue;
        }
        let fields: Vec<&str> = rec.iter().collect();
        match row(line, &fields) {
            Ok(p) => {
                if let Some(first) = seen.insert(p.student_no.clone(), line) {
                    errs.push(error(
                        line,
                        "student_no",
                        format!("student number {} is also on line {first}", p.student_no),
                    ));
                }
                pupils.push(p);
            }
            Err(e) => errs.extend(e),
        }
    }
    if errs.is_empty() {
        Ok(pupils)
    } else {
        Err(errs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEAD: &str = "student_no,name,grade,class,sex,guardian1_name,guardian1_phone,guardian1_relation,guardian1_primary,guardian2_name,guardian2_phone,guardian2_relation,guardian2_primary\n";

    #[test]
    fn a_good_file_gives_its_pupils_and_guardians() {
        let text = format!("{HEAD}S1,李小明,1,一年级1班,男,李妈妈,139 0000 1111,mother,Y,李爸爸,+86 139 0000 2222,father,N\n");
        let p = parse(&text).unwrap();
        assert_eq!(p[0].line, 2);
        assert_eq!(p[0].guardians[0].phone, "13900001111");
        assert_eq!(p[0].guardians[1].phone, "+8613900002222");
        assert!(p[0].guardians[0].primary && !p[0].guardians[1].primary);
    }

    #[test]
    fn every_bad_row_is_named_by_line_and_column() {
        let text = format!(
            "{HEAD}S1,A,1,C1,,G,13900001111,mother,Y,,,,\nS2,B,1\nS1,C,1,C1,,G,13900001112,mother,Y,,,,\nS3,D,1,C1,,G,not a phone,mother,Y,,,,\n"
        );
        let errs = parse(&text).unwrap_err();
        let at: Vec<(u64, &str)> = errs.iter().map(|e| (e.line, e.column.as_str())).collect();
        assert_eq!(
            at,
            [(3, "class"), (4, "student_no"), (5, "guardian1_phone")]
        );
    }

    #[test]
    fn an_unknown_column_is_refused() {
        let errs = parse("student_no,name,grade,klass\n").unwrap_err();
        assert_eq!(errs[0].column, "klass");
    }

    #[test]
    fn gb18030_is_read_as_excel_writes_it() {
        let (bytes, _, _) = encoding_rs::GB18030.encode("学号,李小明\n");
        assert_eq!(decode(&bytes).unwrap(), "学号,李小明\n");
        assert_eq!(decode("\u{feff}a,b".as_bytes()).unwrap(), "a,b");
    }
}
