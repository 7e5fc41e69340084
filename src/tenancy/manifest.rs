//! Declarative tenant manifests (TOML): a school's or agency's code, name and base data.
//!
//! Owns parsing and validating manifests, with file and line in every error. Must never
//! write anything: `tenant apply` validates every file first and provisions only when all
//! of them are valid.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use chrono::{Datelike, NaiveDate, NaiveTime};
use serde::{Deserialize, Deserializer};
use sha2::{Digest, Sha256};
use toml::Spanned;

use super::model::{TenantCode, TenantKind};
use crate::agency::credit_code::CreditCode;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManifestError {
    pub file: PathBuf,
    pub line: usize,
    pub reason: String,
}

impl std::fmt::Display for ManifestError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}: {}", self.file.display(), self.line, self.reason)
    }
}

impl std::error::Error for ManifestError {}

/// A calendar date written as `"YYYY-MM-DD"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Day(pub NaiveDate);

impl<'de> Deserialize<'de> for Day {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        NaiveDate::parse_from_str(&s, "%Y-%m-%d")
            .map(Day)
            .map_err(|_| {
                serde::de::Error::custom(format!(
                    "日期 '{s}' 无效，应为存在的日期，格式 \"YYYY-MM-DD\""
                ))
            })
    }
}

/// A time of day written as `"HH:MM"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct ClockTime(pub NaiveTime);

impl<'de> Deserialize<'de> for ClockTime {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        NaiveTime::parse_from_str(&s, "%H:%M")
            .map(ClockTime)
            .map_err(|_| serde::de::Error::custom(format!("时间 '{s}' 无效，格式应为 \"HH:MM\"")))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SchoolStage {
    Primary,
    Junior,
    NineYear,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VenueKind {
    Classroom,
    Gym,
    Canteen,
    Field,
    Hall,
    Other,
}

impl VenueKind {
    pub fn as_str(self) -> &'static str {
        match self {
            VenueKind::Classroom => "classroom",
            VenueKind::Gym => "gym",
            VenueKind::Canteen => "canteen",
            VenueKind::Field => "field",
            VenueKind::Hall => "hall",
            VenueKind::Other => "other",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PeriodKind {
    Noon,
    AfterSchool,
    Evening,
    Weekend,
}

impl PeriodKind {
    pub fn as_str(self) -> &'static str {
        match self {
            PeriodKind::Noon => "noon",
            PeriodKind::AfterSchool => "after_school",
            PeriodKind::Evening => "evening",
            PeriodKind::Weekend => "weekend",
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SchoolManifest {
    pub code: Spanned<TenantCode>,
    pub kind: Spanned<String>,
    pub name: Spanned<String>,
    pub stage: SchoolStage,
    #[serde(default)]
    pub address: String,
    #[serde(default)]
    pub grades: Vec<GradeSpec>,
    #[serde(default)]
    pub venues: Vec<VenueSpec>,
    #[serde(default)]
    pub periods: Vec<PeriodSpec>,
    #[serde(default)]
    pub terms: Vec<TermSpec>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GradeSpec {
    pub code: Spanned<String>,
    pub name: String,
    pub level: Spanned<i16>,
    #[serde(default)]
    pub classes: Vec<ClassSpec>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClassSpec {
    pub code: Spanned<String>,
    pub name: String,
    pub alias: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VenueSpec {
    pub code: Spanned<String>,
    pub name: String,
    pub kind: VenueKind,
    pub capacity: Spanned<i64>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PeriodSpec {
    pub code: Spanned<String>,
    pub name: String,
    pub kind: PeriodKind,
    pub start: Spanned<ClockTime>,
    pub end: Spanned<ClockTime>,
    pub weekdays: Spanned<Vec<i16>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TermSpec {
    pub code: Spanned<String>,
    pub name: String,
    pub start: Spanned<Day>,
    pub end: Spanned<Day>,
    #[serde(default = "default_weekdays")]
    pub teaching_weekdays: Spanned<Vec<i16>>,
    #[serde(default)]
    pub holidays: Vec<RangeSpec>,
    #[serde(default)]
    pub closures: Vec<RangeSpec>,
    #[serde(default)]
    pub makeup_days: Vec<MakeupSpec>,
}

fn default_weekdays() -> Spanned<Vec<i16>> {
    Spanned::new(0..0, vec![1, 2, 3, 4, 5])
}

/// A run of days off (放假) or closed (停课), both ends included.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RangeSpec {
    pub name: String,
    pub start: Spanned<Day>,
    pub end: Spanned<Day>,
}

/// A weekend day that is worked/taught instead (调休上课).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MakeupSpec {
    pub name: String,
    pub date: Spanned<Day>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgencyManifest {
    pub code: Spanned<TenantCode>,
    pub kind: Spanned<String>,
    pub name: Spanned<String>,
    pub credit_code: Spanned<String>,
    pub address: String,
    #[serde(default)]
    pub intro: String,
    #[serde(default)]
    pub categories: Vec<String>,
}

#[derive(Debug, Clone)]
pub enum Manifest {
    School(SchoolManifest),
    Agency(AgencyManifest),
}

impl Manifest {
    pub fn code(&self) -> &TenantCode {
        match self {
            Manifest::School(m) => m.code.get_ref(),
            Manifest::Agency(m) => m.code.get_ref(),
        }
    }

    pub fn kind(&self) -> TenantKind {
        match self {
            Manifest::School(_) => TenantKind::School,
            Manifest::Agency(_) => TenantKind::Agency,
        }
    }

    pub fn name(&self) -> &str {
        match self {
            Manifest::School(m) => m.name.get_ref(),
            Manifest::Agency(m) => m.name.get_ref(),
        }
    }

    fn code_span(&self) -> std::ops::Range<usize> {
        match self {
            Manifest::School(m) => m.code.span(),
            Manifest::Agency(m) => m.code.span(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct LoadedManifest {
    pub path: PathBuf,
    /// SHA-256 of the file: an unchanged file is not applied again.
    pub hash: String,
    pub manifest: Manifest,
}

/// Just enough to pick the right strict parser.
#[derive(Deserialize)]
struct KindProbe {
    kind: Option<Spanned<String>>,
}

struct Ctx<'a> {
    file: &'a Path,
    src: &'a str,
}

impl Ctx<'_> {
    fn err(&self, span: std::ops::Range<usize>, reason: impl Into<String>) -> ManifestError {
        ManifestError {
            file: self.file.to_path_buf(),
            line: line_of(self.src, span.start),
            reason: reason.into(),
        }
    }
}

fn line_of(src: &str, offset: usize) -> usize {
    let end = offset.min(src.len());
    src.as_bytes()[..end]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

/// Parses and validates one manifest.
pub fn parse(file: &Path, src: &str) -> Result<LoadedManifest, ManifestError> {
    let ctx = Ctx { file, src };
    let toml_err = |e: toml::de::Error| {
        let line = e.span().map(|s| line_of(src, s.start)).unwrap_or(1);
        ManifestError {
            file: file.to_path_buf(),
            line,
            reason: e.message().to_string(),
        }
    };
    let probe: KindProbe = toml::from_str(src).map_err(toml_err)?;
    let kind_span = probe.kind.as_ref().map(|k| k.span()).unwrap_or(0..0);
    let manifest = match probe.kind.as_ref().map(|k| k.get_ref().as_str()) {
        Some("school") => {
            let m: SchoolManifest = toml::from_str(src).map_err(toml_err)?;
            validate_school(&ctx, &m)?;
            Manifest::School(m)
        }
        Some("agency") => {
            let m: AgencyManifest = toml::from_str(src).map_err(toml_err)?;
            validate_agency(&ctx, &m)?;
            Manifest::Agency(m)
        }
        Some(other) => {
            return Err(ctx.err(
                kind_span,
                format!("未知的租户类型 kind = \"{other}\"，应为 \"school\" 或 \"agency\""),
            ));
        }
        None => return Err(ctx.err(0..0, "缺少 kind（\"school\" 或 \"agency\"）")),
    };
    Ok(LoadedManifest {
        path: file.to_path_buf(),
        hash: hex::encode(Sha256::digest(src.as_bytes())),
        manifest,
    })
}

/// Reads and validates every file; duplicate codes across files are errors too. Either all
/// manifests come back or every error found does.
pub fn load_all(files: &[PathBuf]) -> Result<Vec<LoadedManifest>, Vec<ManifestError>> {
    let mut ok = Vec::new();
    let mut errors = Vec::new();
    let mut seen: HashMap<TenantCode, (PathBuf, usize)> = HashMap::new();
    for f in files {
        let src = match std::fs::read_to_string(f) {
            Ok(s) => s,
            Err(e) => {
                errors.push(ManifestError {
                    file: f.clone(),
                    line: 0,
                    reason: format!("无法读取文件: {e}"),
                });
                continue;
            }
        };
        match parse(f, &src) {
            Ok(m) => {
                let line = line_of(&src, m.manifest.code_span().start);
                if let Some((first, first_line)) = seen.get(m.manifest.code()) {
                    errors.push(ManifestError {
                        file: f.clone(),
                        line,
                        reason: format!(
                            "租户代码 '{}' 重复，已在 {}:{} 使用",
                            m.manifest.code(),
                            first.display(),
                            first_line
                        ),
                    });
                } else {
                    seen.insert(m.manifest.code().clone(), (f.clone(), line));
                    ok.push(m);
                }
            }
            Err(e) => errors.push(e),
        }
    }
    if errors.is_empty() {
        Ok(ok)
    } else {
        Err(errors)
    }
}

fn check_name(ctx: &Ctx, name: &Spanned<String>, what: &str) -> Result<(), ManifestError> {
    let n = name.get_ref().trim().chars().count();
    if n == 0 || n > 100 {
        return Err(ctx.err(name.span(), format!("{what}名称不能为空且不超过 100 字")));
    }
    Ok(())
}

fn check_code(
    ctx: &Ctx,
    code: &Spanned<String>,
    seen: &mut HashSet<String>,
    what: &str,
) -> Result<(), ManifestError> {
    let c = code.get_ref();
    let valid = !c.is_empty()
        && c.len() <= 40
        && c.chars()
            .all(|ch| ch.is_ascii_alphanumeric() || ch == '_' || ch == '-');
    if !valid {
        return Err(ctx.err(
            code.span(),
            format!("{what}代码 '{c}' 不合法：只能用字母、数字、下划线或连字符，最长 40"),
        ));
    }
    if !seen.insert(c.clone()) {
        return Err(ctx.err(code.span(), format!("{what}代码 '{c}' 重复")));
    }
    Ok(())
}

fn check_weekdays(ctx: &Ctx, days: &Spanned<Vec<i16>>) -> Result<(), ManifestError> {
    let v = days.get_ref();
    let unique: HashSet<_> = v.iter().collect();
    if v.is_empty() || v.iter().any(|d| !(1..=7).contains(d)) || unique.len() != v.len() {
        return Err(ctx.err(
            days.span(),
            "星期应为 1（周一）到 7（周日）之间不重复的数字，且至少一天",
        ));
    }
    Ok(())
}

fn validate_school(ctx: &Ctx, m: &SchoolManifest) -> Result<(), ManifestError> {
    if m.kind.get_ref() != "school" {
        return Err(ctx.err(m.kind.span(), "kind 应为 \"school\""));
    }
    check_name(ctx, &m.name, "学校")?;
    let mut grade_codes = HashSet::new();
    let mut class_codes = HashSet::new();
    for g in &m.grades {
        check_code(ctx, &g.code, &mut grade_codes, "年级")?;
        if !(1..=12).contains(g.level.get_ref()) {
            return Err(ctx.err(g.level.span(), "年级序号应在 1 到 12 之间"));
        }
        for c in &g.classes {
            check_code(ctx, &c.code, &mut class_codes, "班级")?;
            if c.name.trim().is_empty() {
                return Err(ctx.err(c.code.span(), "班级名称不能为空"));
            }
        }
    }
    let mut venue_codes = HashSet::new();
    for v in &m.venues {
        check_code(ctx, &v.code, &mut venue_codes, "场地")?;
        if !(1..=10_000).contains(v.capacity.get_ref()) {
            return Err(ctx.err(v.capacity.span(), "场地容量应在 1 到 10000 之间"));
        }
    }
    let mut period_codes = HashSet::new();
    for p in &m.periods {
        check_code(ctx, &p.code, &mut period_codes, "时段")?;
        if p.end.get_ref() <= p.start.get_ref() {
            return Err(ctx.err(p.end.span(), "时段结束时间必须晚于开始时间"));
        }
        check_weekdays(ctx, &p.weekdays)?;
    }
    let mut term_codes = HashSet::new();
    for t in &m.terms {
        check_code(ctx, &t.code, &mut term_codes, "学期")?;
        validate_term(ctx, t)?;
    }
    Ok(())
}

fn validate_term(ctx: &Ctx, t: &TermSpec) -> Result<(), ManifestError> {
    let (start, end) = (t.start.get_ref().0, t.end.get_ref().0);
    if end < start {
        return Err(ctx.err(t.end.span(), "学期结束日期早于开始日期"));
    }
    if (end - start).num_days() > 366 {
        return Err(ctx.err(t.end.span(), "学期不能超过一年"));
    }
    check_weekdays(ctx, &t.teaching_weekdays)?;
    let in_term = |d: NaiveDate| d >= start && d <= end;
    let mut taken: HashMap<NaiveDate, &str> = HashMap::new();
    for (ranges, what) in [(&t.holidays, "假期"), (&t.closures, "停课")] {
        for r in ranges {
            let (a, b) = (r.start.get_ref().0, r.end.get_ref().0);
            if b < a {
                return Err(ctx.err(
                    r.end.span(),
                    format!("{what}“{}”结束日期早于开始日期", r.name),
                ));
            }
            if !in_term(a) || !in_term(b) {
                return Err(ctx.err(r.start.span(), format!("{what}“{}”不在学期范围内", r.name)));
            }
            let mut d = a;
            while d <= b {
                if let Some(prev) = taken.insert(d, &r.name) {
                    return Err(ctx.err(
                        r.start.span(),
                        format!("{d} 同时属于“{prev}”和“{}”", r.name),
                    ));
                }
                d = d.succ_opt().unwrap_or(d);
                if d == NaiveDate::MAX {
                    break;
                }
            }
        }
    }
    for mk in &t.makeup_days {
        let d = mk.date.get_ref().0;
        if !in_term(d) {
            return Err(ctx.err(mk.date.span(), format!("调休上课日 {d} 不在学期范围内")));
        }
        let wd = d.weekday().number_from_monday() as i16;
        if t.teaching_weekdays.get_ref().contains(&wd) {
            return Err(ctx.err(
                mk.date.span(),
                format!("调休上课日 {d} 本来就是上课日（应为周末）"),
            ));
        }
        if let Some(prev) = taken.insert(d, &mk.name) {
            return Err(ctx.err(
                mk.date.span(),
                format!("{d} 同时属于“{prev}”和“{}”", mk.name),
            ));
        }
    }
    Ok(())
}

fn validate_agency(ctx: &Ctx, m: &AgencyManifest) -> Result<(), ManifestError> {
    if m.kind.get_ref() != "agency" {
        return Err(ctx.err(m.kind.span(), "kind 应为 \"agency\""));
    }
    check_name(ctx, &m.name, "机构")?;
    CreditCode::parse(m.credit_code.get_ref()).map_err(|e| ctx.err(m.credit_code.span(), e))?;
    let mut seen = HashSet::new();
    for c in &m.categories {
        if c.trim().is_empty() || !seen.insert(c) {
            return Err(ctx.err(m.code.span(), format!("服务类目“{c}”为空或重复")));
        }
    }
    Ok(())
}
