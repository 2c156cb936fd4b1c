//! The one application error type. Every layer (store, policy, handlers)
//! returns it; [`crate::http::error`] is the single place that turns it into
//! an HTTP response `{"error": {"code", "message", "field"?}}`.

use std::fmt;

use crate::i18n::{field_label, t, tv, Lang};

/// What kind of failure, which decides the HTTP status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// 400: the request could not be read (malformed JSON, bad path/query).
    BadRequest,
    /// 401: no or invalid credentials.
    Unauthenticated,
    /// 403: authenticated but not allowed.
    Forbidden,
    /// 404: the named thing does not exist.
    NotFound,
    /// 405: the path exists but not with this method.
    MethodNotAllowed,
    /// 409: conflicts with what is stored (duplicate, wrong state).
    Conflict,
    /// 413: the body is larger than the configured limit.
    PayloadTooLarge,
    /// 422: well-formed but invalid (missing field, wrong type, bad value).
    Invalid,
    /// 429: the caller holds too many of a limited thing (live streams).
    TooManyRequests,
    /// 500: our fault; details are logged, not returned.
    Internal,
    /// 503: the request ran past the server's time limit.
    Unavailable,
}

/// An application error: kind, a stable machine code, the reason (which
/// renders the English message for the API and the Chinese one for the
/// pages) and, where one field is to blame, its name.
#[derive(Debug, Clone)]
pub struct AppError {
    pub kind: ErrorKind,
    pub code: &'static str,
    /// Boxed: reasons carry figures, and errors travel in every `Result`.
    pub reason: Box<Reason>,
    pub field: Option<String>,
}

pub type AppResult<T> = Result<T, AppError>;

/// Why a request failed, with the figures a person needs to fix it. Both
/// languages are rendered from it ([`Reason::en`], [`Reason::zh`]); no
/// text is ever derived from another text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reason {
    /// A field left out.
    Required {
        field: String,
    },
    /// A text field given only blanks.
    Empty {
        field: String,
    },
    /// A field a request of this kind needs.
    RequiredFor {
        field: String,
        kind: String,
    },
    TooLong {
        field: String,
        max: usize,
    },
    /// A number outside `min..=max`.
    OutOfRange {
        field: String,
        min: i64,
        max: i64,
    },
    NotWholeNumber {
        field: String,
        value: String,
    },
    /// Not a yuan amount such as `1234.50`.
    NotAmount {
        field: String,
        value: String,
    },
    BadDate {
        field: String,
        value: String,
    },
    Negative {
        field: String,
    },
    /// `value` is not one of the `allowed` words.
    NotOneOf {
        field: String,
        value: String,
        allowed: &'static [&'static str],
    },
    /// `value` does not name a record of the kind `field` refers to.
    BadId {
        field: String,
        value: String,
    },
    NotHex {
        field: String,
        value: String,
        detail: String,
    },
    /// A loan's due date before its start.
    DueBeforeStart,
    PasswordTooShort {
        min: usize,
    },
    /// Characters outside letters, digits, `.`, `_`, `-`.
    BadUsername,
    /// Unit staff without a unit.
    UnitRequired,
    /// Not 1–40 letters, digits, `-`, `_`, `.`.
    BadAssetNumber {
        value: String,
    },
    /// An asset needs exactly one holder: a location or a unit.
    OneHolder,
    BadCompanyPrefix {
        value: String,
    },
    NotGiaiReference {
        value: String,
        detail: String,
    },
    NoCompanyPrefix,
    /// Nothing of the loan was scanned at the desk.
    NothingScanned,
    /// No file chosen in an upload form.
    NoFile,
    EmptyFile,
    /// A file larger than the limit (`size` when known).
    TooLarge {
        limit_bytes: usize,
        size: Option<usize>,
    },
    /// A request body larger than `max_body_bytes`.
    BodyTooLarge,
    UnsupportedFileType {
        content_type: String,
        accepted: Vec<&'static str>,
    },
    /// The file's bytes are not what its declared type says.
    ContentMismatch {
        content_type: String,
    },
    UploadUnreadable {
        detail: String,
    },
    /// A form whose values could not be read as the action they post.
    FormNotUnderstood {
        field: String,
        detail: String,
    },
    NotJson,
    MalformedJson {
        detail: String,
    },
    /// A JSON field of the wrong shape (serde's words in `detail`).
    BadField {
        field: String,
        detail: String,
    },
    BadBody {
        detail: String,
    },
    BadPath {
        detail: String,
    },
    BadQuery {
        detail: String,
    },
    NotLoggedIn,
    SessionExpired,
    WrongLogin,
    /// `policy::authorize` said no.
    NotAllowed {
        actor: String,
        action: String,
    },
    /// The lifecycle refuses this action to the actor's role.
    RoleMayNot {
        asset_id: i64,
        action: String,
    },
    /// A request step that belongs to other roles at this stage.
    StepNotYours {
        request_id: i64,
        kind: String,
        stage: String,
        step: String,
        roles: Vec<String>,
    },
    /// An asset action its state does not allow.
    WrongState {
        asset_id: i64,
        state: String,
        action: String,
        expected: Vec<String>,
    },
    /// A request step that does not apply at the request's stage.
    WrongStage {
        request_id: i64,
        kind: String,
        stage: String,
        step: String,
    },
    /// The asset is already in another open request.
    AssetHeld {
        asset_id: i64,
        request_id: i64,
    },
    NotFound {
        what: &'static str,
        id: String,
    },
    /// A form field naming a record (category, location…) that is not there.
    DoesNotExist {
        field: String,
        id: i64,
    },
    NoRoute,
    /// The path exists, but not with the request's method.
    MethodNotAllowed,
    /// A unique value already used (SQLite's words in `detail`).
    Duplicate {
        field: Option<String>,
        detail: String,
    },
    UnknownReference {
        detail: String,
    },
    ConstraintViolated {
        field: Option<String>,
        detail: String,
    },
    /// Not yet given a reason of its own: English text only; pages say
    /// a general sentence for the error's kind plus this text.
    Other(String),
}

impl From<String> for Reason {
    fn from(s: String) -> Self {
        Reason::Other(s)
    }
}

impl From<&str> for Reason {
    fn from(s: &str) -> Self {
        Reason::Other(s.to_owned())
    }
}

/// Words joined with "or" / "或".
fn or_en(words: &[impl AsRef<str>]) -> String {
    words
        .iter()
        .map(|w| w.as_ref())
        .collect::<Vec<_>>()
        .join(" or ")
}

fn or_zh(words: &[impl AsRef<str>]) -> String {
    words
        .iter()
        .map(|w| word_zh(w.as_ref()))
        .collect::<Vec<_>>()
        .join("或")
}

/// A state, stage, role or kind in Chinese, from the one word table.
fn word_zh(key: &str) -> String {
    tv(Lang::Zh, key)
}

/// A field's Chinese name; "此项" for one without a label.
fn label(field: &str) -> &'static str {
    match field_label(field) {
        "" => "此项",
        l => l,
    }
}

/// Chinese names of the things `NotFound` names.
fn noun_zh(what: &str) -> &'static str {
    match what {
        "asset" | "asset with EPC" => "资产",
        "request" => "申请",
        "request kind" => "申请类型",
        "unit" => "单位",
        "warehouse" => "仓库",
        "location" => "货位",
        "report" => "报表",
        "photo of asset" => "资产照片",
        "tag commission" => "标签写入任务",
        "stocktake" | "stock-take" => "盘点",
        "alarm" => "报警",
        "document" => "附件",
        "user" => "用户",
        "reader" => "读写器",
        _ => "记录",
    }
}

/// A byte count as people say it: "5 MB", "64 KB", "100 B".
pub fn human_bytes(n: usize) -> String {
    const KB: usize = 1024;
    const MB: usize = 1024 * KB;
    if n >= MB && n.is_multiple_of(MB) {
        format!("{} MB", n / MB)
    } else if n >= KB && n.is_multiple_of(KB) {
        format!("{} KB", n / KB)
    } else {
        format!("{n} B")
    }
}

/// File types by their short names ("PDF、PNG").
fn file_types_zh(types: &[&str]) -> String {
    types
        .iter()
        .map(|t| t.rsplit('/').next().unwrap_or(t).to_ascii_uppercase())
        .collect::<Vec<_>>()
        .join("、")
}

impl Reason {
    /// Status class and stable machine code (clients match on the code).
    pub fn kind_and_code(&self) -> (ErrorKind, &'static str) {
        use ErrorKind as K;
        use Reason as R;
        match self {
            R::Required { .. }
            | R::Empty { .. }
            | R::RequiredFor { .. }
            | R::TooLong { .. }
            | R::OutOfRange { .. }
            | R::NotWholeNumber { .. }
            | R::NotAmount { .. }
            | R::BadDate { .. }
            | R::Negative { .. }
            | R::NotOneOf { .. }
            | R::BadId { .. }
            | R::NotHex { .. }
            | R::DueBeforeStart
            | R::PasswordTooShort { .. }
            | R::BadUsername
            | R::UnitRequired
            | R::BadAssetNumber { .. }
            | R::OneHolder
            | R::BadCompanyPrefix { .. }
            | R::NotGiaiReference { .. }
            | R::NothingScanned
            | R::NoFile
            | R::EmptyFile
            | R::UnsupportedFileType { .. }
            | R::ContentMismatch { .. }
            | R::UploadUnreadable { .. }
            | R::FormNotUnderstood { .. }
            | R::BadField { .. }
            | R::DoesNotExist { .. }
            | R::Other(_) => (K::Invalid, "invalid"),
            R::TooLarge { .. } => (K::PayloadTooLarge, "too_large"),
            R::BodyTooLarge => (K::PayloadTooLarge, "body_too_large"),
            R::NotJson => (K::BadRequest, "not_json"),
            R::MalformedJson { .. } => (K::BadRequest, "malformed_json"),
            R::BadBody { .. } => (K::BadRequest, "bad_request"),
            R::BadPath { .. } => (K::BadRequest, "bad_path"),
            R::BadQuery { .. } => (K::BadRequest, "bad_query"),
            R::NotLoggedIn | R::SessionExpired | R::WrongLogin => {
                (K::Unauthenticated, "unauthenticated")
            }
            R::NotAllowed { .. } | R::RoleMayNot { .. } | R::StepNotYours { .. } => {
                (K::Forbidden, "forbidden")
            }
            R::NoCompanyPrefix => (K::Conflict, "conflict"),
            R::WrongState { .. } => (K::Conflict, "wrong_state"),
            R::WrongStage { .. } => (K::Conflict, "wrong_stage"),
            R::AssetHeld { .. } => (K::Conflict, "asset_held"),
            R::Duplicate { .. } => (K::Conflict, "duplicate"),
            R::UnknownReference { .. } => (K::Conflict, "unknown_reference"),
            R::ConstraintViolated { .. } => (K::Conflict, "constraint"),
            R::NotFound { .. } => (K::NotFound, "not_found"),
            R::NoRoute => (K::NotFound, "no_route"),
            R::MethodNotAllowed => (K::MethodNotAllowed, "method_not_allowed"),
        }
    }

    /// The form field to blame, when there is one.
    pub fn field(&self) -> Option<&str> {
        use Reason as R;
        match self {
            R::Required { field }
            | R::Empty { field }
            | R::RequiredFor { field, .. }
            | R::TooLong { field, .. }
            | R::OutOfRange { field, .. }
            | R::NotWholeNumber { field, .. }
            | R::NotAmount { field, .. }
            | R::BadDate { field, .. }
            | R::Negative { field }
            | R::NotOneOf { field, .. }
            | R::BadId { field, .. }
            | R::NotHex { field, .. }
            | R::FormNotUnderstood { field, .. }
            | R::BadField { field, .. }
            | R::DoesNotExist { field, .. } => Some(field),
            R::Duplicate { field, .. } | R::ConstraintViolated { field, .. } => field.as_deref(),
            R::DueBeforeStart => Some("loan_due"),
            R::PasswordTooShort { .. } => Some("password"),
            R::BadUsername => Some("username"),
            R::UnitRequired => Some("unit_id"),
            R::BadAssetNumber { .. } => Some("asset_number"),
            R::OneHolder => Some("holder_location_id"),
            R::BadCompanyPrefix { .. } => Some("company_prefix"),
            R::NotGiaiReference { .. } => Some("asset_number"),
            R::NothingScanned => Some("items"),
            R::NoFile | R::EmptyFile | R::TooLarge { .. } | R::UploadUnreadable { .. } => {
                Some("body")
            }
            R::UnsupportedFileType { .. } | R::ContentMismatch { .. } => Some("content-type"),
            _ => None,
        }
    }

    /// English, naming fields by their API names (the JSON `message`).
    pub fn en(&self) -> String {
        use Reason as R;
        match self {
            R::Required { field } => format!("{field} is required"),
            R::Empty { field } => format!("{field} must not be empty"),
            R::RequiredFor { field, kind } => format!("{field} is required for a {kind} request"),
            R::TooLong { field, max } => format!("{field} is longer than {max} characters"),
            R::OutOfRange { field, min, max } => format!("{field} must be {min}..={max}"),
            R::NotWholeNumber { value, .. } => format!("`{value}` is not a whole number"),
            R::NotAmount { value, .. } => {
                format!("`{value}` is not an amount in yuan (e.g. 1234.50)")
            }
            R::BadDate { field, value } => format!("{field} `{value}` is not a YYYY-MM-DD date"),
            R::Negative { field } => format!("{field} must not be negative"),
            R::NotOneOf {
                field,
                value,
                allowed,
            } => format!("{field} `{value}` is not {}", or_en(allowed)),
            R::BadId { field, value } => format!("`{value}` is not a valid {field}"),
            R::NotHex {
                field,
                value,
                detail,
            } => format!("{field} `{value}` is not hex: {detail}"),
            R::DueBeforeStart => "loan_due is before loan_start".into(),
            R::PasswordTooShort { min } => format!("password must be at least {min} characters"),
            R::BadUsername => "username may contain only letters, digits, '.', '_' and '-'".into(),
            R::UnitRequired => "unit staff must be bound to a unit (unit_id)".into(),
            R::BadAssetNumber { value } => {
                format!("asset_number `{value}` must be 1–40 letters, digits, '-', '_' or '.'")
            }
            R::OneHolder => "give exactly one holder: holder_location_id or holder_unit_id".into(),
            R::BadCompanyPrefix { value } => {
                format!("GS1 company prefix `{value}` must be 6–12 digits")
            }
            R::NotGiaiReference { value, detail } => {
                format!("asset number `{value}` cannot be a GIAI asset reference: {detail}")
            }
            R::NoCompanyPrefix => {
                "no GS1 company prefix configured (admin init --company-prefix)".into()
            }
            R::NothingScanned => "no item of this loan has been scanned".into(),
            R::NoFile => "choose a file to upload".into(),
            R::EmptyFile => "the file is empty".into(),
            R::TooLarge {
                limit_bytes,
                size: Some(size),
            } => format!("the file is {size} bytes; the limit is {limit_bytes}"),
            R::TooLarge {
                limit_bytes,
                size: None,
            } => format!("the file is larger than {limit_bytes} bytes"),
            R::BodyTooLarge => {
                "request body is larger than the server accepts (max_body_bytes)".into()
            }
            R::UnsupportedFileType {
                content_type,
                accepted,
            } => format!(
                "type `{content_type}` is not accepted; use one of {}",
                accepted.join(", ")
            ),
            R::ContentMismatch { content_type } => {
                format!("the file's content is not {content_type}")
            }
            R::UploadUnreadable { detail } => format!("could not read the file: {detail}"),
            R::FormNotUnderstood { detail, .. } => detail.clone(),
            R::NotJson => "send the body as JSON with Content-Type: application/json".into(),
            R::MalformedJson { detail } => format!("request body is not valid JSON: {detail}"),
            R::BadField { field, detail } => format!("{field}: {detail}"),
            R::BadBody { detail } => format!("could not read the request body: {detail}"),
            R::BadPath { detail } => format!("bad path parameter: {detail}"),
            R::BadQuery { detail } => format!("bad query string: {detail}"),
            R::NotLoggedIn => {
                "not logged in: send `Authorization: Bearer <token>` or the session cookie".into()
            }
            R::SessionExpired => "the token is unknown or expired; log in again".into(),
            R::WrongLogin => "wrong username or password".into(),
            R::NotAllowed { actor, action } => format!("{actor} may not {action} here"),
            R::RoleMayNot { asset_id, action } => {
                format!("your role may not {action} asset {asset_id}")
            }
            R::StepNotYours {
                request_id,
                kind,
                stage,
                step,
                roles,
            } => format!(
                "{step} at stage {stage} of {kind} request {request_id} is for {}",
                or_en(roles)
            ),
            R::WrongState {
                asset_id,
                state,
                action,
                expected,
            } => format!(
                "asset {asset_id} is {state}; {action} needs it to be {}",
                or_en(expected)
            ),
            R::WrongStage {
                request_id,
                kind,
                stage,
                step,
            } => format!(
                "{kind} request {request_id} is at stage {stage}; {step} does not apply there"
            ),
            R::AssetHeld {
                asset_id,
                request_id,
            } => format!("asset {asset_id} is already held by open request {request_id}"),
            R::NotFound { what, id } => format!("{what} {id} not found"),
            R::DoesNotExist { field, id } => format!("{field} {id} does not exist"),
            R::NoRoute => "no such endpoint; see /api/v1/openapi.json".into(),
            R::MethodNotAllowed => {
                "this endpoint does not take this method; see /api/v1/openapi.json".into()
            }
            R::Duplicate { detail, .. } => {
                format!("a record with this value already exists ({detail})")
            }
            R::UnknownReference { detail } => {
                format!("a referenced record does not exist ({detail})")
            }
            R::ConstraintViolated { detail, .. } => {
                format!("the change violates a data rule ({detail})")
            }
            R::Other(text) => text.clone(),
        }
    }

    /// Simplified Chinese for the pages, fields by their form labels.
    /// Technical details (serde's or SQLite's words) stay in the English
    /// text and the log; the Chinese says what to do.
    pub fn zh(&self) -> String {
        use Reason as R;
        match self {
            R::Required { field } | R::Empty { field } | R::RequiredFor { field, .. } => {
                format!("请填写{}", label(field))
            }
            R::TooLong { field, max } => format!("{}不能超过 {max} 个字", label(field)),
            R::OutOfRange { field, min, max } => {
                format!("{}须在 {min} 到 {max} 之间", label(field))
            }
            R::NotWholeNumber { field, .. } => format!("{}应为整数", label(field)),
            R::NotAmount { field, .. } => {
                format!("{}格式不正确，应为金额（例如 1234.50）", label(field))
            }
            R::BadDate { field, .. } => format!("{}应为日期（年-月-日）", label(field)),
            R::Negative { field } => format!("{}不能为负数", label(field)),
            R::NotOneOf { field, .. } => {
                format!("{}的取值无效，请从给出的选项中选择", label(field))
            }
            R::BadId { field, .. } => format!("{}无效，请重新选择", label(field)),
            R::NotHex { field, .. } => format!("{}应为十六进制编码", label(field)),
            R::DueBeforeStart => "归还日期不能早于借用开始日期".into(),
            R::PasswordTooShort { min } => format!("密码至少需要 {min} 个字符"),
            R::BadUsername => "用户名只能包含字母、数字、点、下划线和连字符".into(),
            R::UnitRequired => "单位资产管理员须指定所属单位".into(),
            R::BadAssetNumber { .. } => {
                "资产编号须为 1 到 40 个字母、数字、连字符、下划线或点".into()
            }
            R::OneHolder => "请在存放货位和持有单位中选且只选一个".into(),
            R::BadCompanyPrefix { .. } => "GS1 厂商识别代码须为 6 到 12 位数字".into(),
            R::NotGiaiReference { .. } => "该资产编号无法编入 GIAI 电子标签".into(),
            R::NoCompanyPrefix => "尚未配置 GS1 厂商识别代码，请系统管理员先完成初始化".into(),
            R::NothingScanned => "本次借用的资产还没有扫描到任何一件".into(),
            R::NoFile => "请选择要上传的文件".into(),
            R::EmptyFile => "文件是空的".into(),
            R::TooLarge { limit_bytes, .. } => {
                format!("文件超过 {}，不能上传", human_bytes(*limit_bytes))
            }
            R::BodyTooLarge => "提交的内容超过服务器允许的大小".into(),
            R::UnsupportedFileType { accepted, .. } => {
                format!("只接受 {} 文件", file_types_zh(accepted))
            }
            R::ContentMismatch { .. } => "文件内容与其类型不符".into(),
            R::UploadUnreadable { .. } => "文件未能读取，请重新上传".into(),
            R::FormNotUnderstood { .. } => "表单内容无法识别，请检查后重新提交".into(),
            R::NotJson | R::MalformedJson { .. } => "提交的内容不是有效的 JSON".into(),
            R::BadField { field, .. } => format!("{}的内容不正确", label(field)),
            R::BadBody { .. } => "提交的内容未能读取".into(),
            R::BadPath { .. } => "网址中的编号无效".into(),
            R::BadQuery { .. } => "查询条件无效".into(),
            R::NotLoggedIn => "尚未登录，请先登录".into(),
            R::SessionExpired => "登录已失效，请重新登录".into(),
            R::WrongLogin => t(Lang::Zh, "bad_login").into(),
            R::NotAllowed { .. } => t(Lang::Zh, "not_allowed").into(),
            R::RoleMayNot { asset_id, .. } => {
                format!("{}（资产 {asset_id}）", t(Lang::Zh, "not_allowed"))
            }
            R::StepNotYours {
                request_id,
                stage,
                roles,
                ..
            } => format!(
                "申请 {request_id} 在「{}」阶段的这一步应由{}办理",
                word_zh(stage),
                or_zh(roles)
            ),
            R::WrongState {
                asset_id,
                state,
                expected,
                ..
            } => format!(
                "资产 {asset_id} 当前为「{}」，此操作需要其为「{}」",
                word_zh(state),
                or_zh(expected)
            ),
            R::WrongStage {
                request_id, stage, ..
            } => format!(
                "申请 {request_id} 当前处于「{}」阶段，不能办理此步骤",
                word_zh(stage)
            ),
            R::AssetHeld {
                asset_id,
                request_id,
            } => format!("资产 {asset_id} 已被未办结的申请 {request_id} 占用"),
            R::NotFound { what, id } => format!("找不到{}（{id}）", noun_zh(what)),
            R::DoesNotExist { field, id } => format!("{}（{id}）不存在", label(field)),
            R::NoRoute => "没有这个页面".into(),
            R::MethodNotAllowed => "这个页面不支持这种操作".into(),
            R::Duplicate { field, .. } => match field.as_deref() {
                Some(f) if !field_label(f).is_empty() => {
                    format!("{}已存在，不能重复", field_label(f))
                }
                _ => "已有相同的记录，不能重复".into(),
            },
            R::UnknownReference { .. } => "引用的记录不存在".into(),
            R::ConstraintViolated { .. } => "此修改不符合数据规则".into(),
            R::Other(text) => format!("操作未能完成（{text}）"),
        }
    }
}

/// `value` if it lies in `min..=max`, else [`Reason::OutOfRange`] naming
/// the field and both bounds.
pub fn in_range(field: &str, value: i64, min: i64, max: i64) -> AppResult<i64> {
    if (min..=max).contains(&value) {
        Ok(value)
    } else {
        Err(Reason::OutOfRange {
            field: field.into(),
            min,
            max,
        }
        .into())
    }
}

impl From<Reason> for AppError {
    fn from(reason: Reason) -> Self {
        let (kind, code) = reason.kind_and_code();
        AppError {
            kind,
            code,
            field: reason.field().map(str::to_owned),
            reason: Box::new(reason),
        }
    }
}

impl AppError {
    /// An error of an explicit kind and code; prefer `AppError::from(Reason)`,
    /// which takes both from the reason.
    pub fn new(kind: ErrorKind, code: &'static str, reason: impl Into<Reason>) -> Self {
        Self {
            kind,
            code,
            reason: Box::new(reason.into()),
            field: None,
        }
    }

    pub fn with_field(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into());
        self
    }

    pub fn bad_request(reason: impl Into<Reason>) -> Self {
        Self::new(ErrorKind::BadRequest, "bad_request", reason)
    }

    pub fn unauthenticated(reason: impl Into<Reason>) -> Self {
        Self::new(ErrorKind::Unauthenticated, "unauthenticated", reason)
    }

    pub fn forbidden(reason: impl Into<Reason>) -> Self {
        Self::new(ErrorKind::Forbidden, "forbidden", reason)
    }

    pub fn not_found(what: &'static str, id: impl fmt::Display) -> Self {
        Reason::NotFound {
            what,
            id: id.to_string(),
        }
        .into()
    }

    pub fn conflict(reason: impl Into<Reason>) -> Self {
        Self::new(ErrorKind::Conflict, "conflict", reason)
    }

    /// 422 naming the offending field.
    pub fn invalid(field: &str, reason: impl Into<Reason>) -> Self {
        Self::new(ErrorKind::Invalid, "invalid", reason).with_field(field)
    }

    pub fn internal(reason: impl Into<Reason>) -> Self {
        Self::new(ErrorKind::Internal, "internal", reason)
    }

    /// The English message with every detail (for logs and the API).
    pub fn message(&self) -> String {
        self.reason.en()
    }

    /// What a person is shown: internal details stay in the log.
    pub fn text(&self, lang: Lang) -> String {
        match (self.kind, lang) {
            (ErrorKind::Internal, Lang::En) => INTERNAL_EN.into(),
            (ErrorKind::Internal, Lang::Zh) => "服务器内部错误，详情见服务器日志".into(),
            (_, Lang::En) => self.reason.en(),
            (_, Lang::Zh) => match &*self.reason {
                // Not yet given its own reason: say the kind in Chinese.
                Reason::Other(text) => format!("{}（{text}）", self.kind_zh()),
                reason => reason.zh(),
            },
        }
    }

    /// A general sentence for the error's kind and code.
    fn kind_zh(&self) -> String {
        match (self.kind, self.code) {
            (_, "wrong_state" | "wrong_stage") => "当前状态不允许此操作".into(),
            (_, "asset_held") => "该资产已被其他未办结的申请占用".into(),
            (ErrorKind::Forbidden, _) => t(Lang::Zh, "not_allowed").into(),
            (ErrorKind::Invalid, _) => match self.field.as_deref().map(field_label) {
                Some(l) if !l.is_empty() => format!("{l}填写有误"),
                _ => "填写的内容有误".into(),
            },
            (ErrorKind::NotFound, _) => "找不到要找的记录".into(),
            (ErrorKind::MethodNotAllowed, _) => "这个页面不支持这种操作".into(),
            (ErrorKind::Conflict, _) => "与已有的记录冲突".into(),
            (ErrorKind::PayloadTooLarge, _) => "内容过大".into(),
            (ErrorKind::Unauthenticated, _) => "请重新登录".into(),
            (ErrorKind::BadRequest, _) => "请求无法读取".into(),
            (ErrorKind::Internal, _) => "服务器内部错误".into(),
            (ErrorKind::TooManyRequests, _) => "同时打开的实时页面过多，请关闭其他标签页".into(),
            (ErrorKind::Unavailable, _) => "服务器处理超时，请稍后重试".into(),
        }
    }
}

/// The text clients see for a 500; the details are logged.
pub const INTERNAL_EN: &str = "internal error; see the server log";

impl fmt::Display for AppError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.reason.en())?;
        if let Some(field) = &self.field {
            write!(f, " (field `{field}`)")?;
        }
        Ok(())
    }
}

impl std::error::Error for AppError {}

impl From<rusqlite::Error> for AppError {
    fn from(e: rusqlite::Error) -> Self {
        use rusqlite::ErrorCode;
        if let rusqlite::Error::SqliteFailure(f, msg) = &e {
            let msg = msg.clone().unwrap_or_default();
            match f.code {
                ErrorCode::ConstraintViolation => {
                    // "UNIQUE constraint failed: units.name" → field "name".
                    let field = msg
                        .rsplit(": ")
                        .next()
                        .and_then(|cols| cols.split(", ").next())
                        .and_then(|col| col.rsplit('.').next())
                        .map(str::to_owned);
                    let reason = if msg.starts_with("UNIQUE") {
                        Reason::Duplicate {
                            field: field.filter(|f| !f.is_empty()),
                            detail: msg,
                        }
                    } else if msg.starts_with("FOREIGN KEY") {
                        Reason::UnknownReference { detail: msg }
                    } else {
                        Reason::ConstraintViolated {
                            field: field.filter(|f| !f.is_empty()),
                            detail: msg,
                        }
                    };
                    return reason.into();
                }
                ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked => {
                    return AppError::internal(format!("database busy: {msg}"));
                }
                _ => {}
            }
        }
        AppError::internal(format!("database error: {e}"))
    }
}

impl From<tokio::task::JoinError> for AppError {
    fn from(e: tokio::task::JoinError) -> Self {
        AppError::internal(format!("background task failed: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One of each reason. `ordinal` below has no wildcard, so a new
    /// variant does not compile until it is numbered, and the test fails
    /// until it has a sample here.
    fn samples() -> Vec<Reason> {
        use Reason as R;
        let f = |s: &str| s.to_owned();
        vec![
            R::Required {
                field: f("budget_fen"),
            },
            R::Empty { field: f("name") },
            R::RequiredFor {
                field: f("loan_due"),
                kind: f("loan"),
            },
            R::TooLong {
                field: f("name"),
                max: 200,
            },
            R::OutOfRange {
                field: f("quantity"),
                min: 1,
                max: 100_000,
            },
            R::NotWholeNumber {
                field: f("quantity"),
                value: f("abc"),
            },
            R::NotAmount {
                field: f("amount_fen"),
                value: f("12.345"),
            },
            R::BadDate {
                field: f("needed_by"),
                value: f("tomorrow"),
            },
            R::Negative {
                field: f("budget_fen"),
            },
            R::NotOneOf {
                field: f("format"),
                value: f("xml"),
                allowed: &["json", "csv"],
            },
            R::BadId {
                field: f("asset_ids"),
                value: f("x"),
            },
            R::NotHex {
                field: f("epc"),
                value: f("zz"),
                detail: f("invalid digit"),
            },
            R::DueBeforeStart,
            R::PasswordTooShort { min: 8 },
            R::BadUsername,
            R::UnitRequired,
            R::BadAssetNumber { value: f("a b") },
            R::OneHolder,
            R::BadCompanyPrefix { value: f("12") },
            R::NotGiaiReference {
                value: f("a b"),
                detail: f("space"),
            },
            R::NoCompanyPrefix,
            R::NothingScanned,
            R::NoFile,
            R::EmptyFile,
            R::TooLarge {
                limit_bytes: 5 * 1024 * 1024,
                size: Some(6_000_000),
            },
            R::BodyTooLarge,
            R::UnsupportedFileType {
                content_type: f("text/html"),
                accepted: vec!["application/pdf", "image/png"],
            },
            R::ContentMismatch {
                content_type: f("image/png"),
            },
            R::UploadUnreadable {
                detail: f("stream ended"),
            },
            R::FormNotUnderstood {
                field: f("action"),
                detail: f("unknown variant"),
            },
            R::NotJson,
            R::MalformedJson {
                detail: f("EOF while parsing"),
            },
            R::BadField {
                field: f("quantity"),
                detail: f("invalid type"),
            },
            R::BadBody {
                detail: f("connection reset"),
            },
            R::BadPath {
                detail: f("invalid digit"),
            },
            R::BadQuery {
                detail: f("unknown field"),
            },
            R::NotLoggedIn,
            R::SessionExpired,
            R::WrongLogin,
            R::NotAllowed {
                actor: f("user:alice"),
                action: f("ManageUsers"),
            },
            R::RoleMayNot {
                asset_id: 7,
                action: f("dispose"),
            },
            R::StepNotYours {
                request_id: 3,
                kind: f("loan"),
                stage: f("approval"),
                step: f("approve"),
                roles: vec![f("approver")],
            },
            R::WrongState {
                asset_id: 7,
                state: f("on_loan"),
                action: f("check_out"),
                expected: vec![f("in_stock")],
            },
            R::WrongStage {
                request_id: 3,
                kind: f("loan"),
                stage: f("checkout"),
                step: f("withdraw"),
            },
            R::AssetHeld {
                asset_id: 7,
                request_id: 3,
            },
            R::NotFound {
                what: "asset",
                id: f("424242"),
            },
            R::NoRoute,
            R::MethodNotAllowed,
            R::DoesNotExist {
                field: f("location_id"),
                id: 12,
            },
            R::Duplicate {
                field: Some(f("name")),
                detail: f("UNIQUE constraint failed: units.name"),
            },
            R::UnknownReference {
                detail: f("FOREIGN KEY constraint failed"),
            },
            R::ConstraintViolated {
                field: None,
                detail: f("CHECK constraint failed"),
            },
            R::Other(f("something else went wrong")),
        ]
    }

    fn ordinal(r: &Reason) -> usize {
        use Reason as R;
        match r {
            R::Required { .. } => 0,
            R::Empty { .. } => 1,
            R::RequiredFor { .. } => 2,
            R::TooLong { .. } => 3,
            R::OutOfRange { .. } => 4,
            R::NotWholeNumber { .. } => 5,
            R::NotAmount { .. } => 6,
            R::BadDate { .. } => 7,
            R::Negative { .. } => 8,
            R::NotOneOf { .. } => 9,
            R::BadId { .. } => 10,
            R::NotHex { .. } => 11,
            R::DueBeforeStart => 12,
            R::PasswordTooShort { .. } => 13,
            R::BadCompanyPrefix { .. } => 14,
            R::NotGiaiReference { .. } => 15,
            R::NoCompanyPrefix => 16,
            R::NothingScanned => 17,
            R::NoFile => 18,
            R::EmptyFile => 19,
            R::TooLarge { .. } => 20,
            R::BodyTooLarge => 21,
            R::UnsupportedFileType { .. } => 22,
            R::ContentMismatch { .. } => 23,
            R::UploadUnreadable { .. } => 24,
            R::FormNotUnderstood { .. } => 25,
            R::NotJson => 26,
            R::MalformedJson { .. } => 27,
            R::BadField { .. } => 28,
            R::BadBody { .. } => 29,
            R::BadPath { .. } => 30,
            R::BadQuery { .. } => 31,
            R::NotLoggedIn => 32,
            R::SessionExpired => 33,
            R::WrongLogin => 34,
            R::NotAllowed { .. } => 35,
            R::RoleMayNot { .. } => 36,
            R::StepNotYours { .. } => 37,
            R::WrongState { .. } => 38,
            R::WrongStage { .. } => 39,
            R::AssetHeld { .. } => 40,
            R::NotFound { .. } => 41,
            R::NoRoute => 42,
            R::Duplicate { .. } => 43,
            R::UnknownReference { .. } => 44,
            R::ConstraintViolated { .. } => 45,
            R::Other(_) => 46,
            R::BadUsername => 47,
            R::UnitRequired => 48,
            R::BadAssetNumber { .. } => 49,
            R::OneHolder => 50,
            R::DoesNotExist { .. } => 51,
            R::MethodNotAllowed => 52,
        }
    }
    const VARIANTS: usize = 53;

    /// Runs of ASCII letters that are not all capitals: English words, as
    /// opposed to acronyms and units such as PDF, GS1 or MB.
    fn english_words(s: &str) -> Vec<String> {
        s.split(|c: char| !c.is_ascii_alphabetic())
            .filter(|w| !w.is_empty() && w.chars().any(|c| c.is_ascii_lowercase()))
            .map(str::to_owned)
            .collect()
    }

    #[test]
    fn every_reason_has_english_and_chinese() {
        let samples = samples();
        let mut seen: Vec<usize> = samples.iter().map(ordinal).collect();
        seen.sort_unstable();
        seen.dedup();
        assert_eq!(
            seen,
            (0..VARIANTS).collect::<Vec<_>>(),
            "a reason lacks a sample"
        );
        for r in &samples {
            let (en, zh) = (r.en(), r.zh());
            assert!(!en.trim().is_empty(), "{r:?}: empty English");
            assert!(!zh.trim().is_empty(), "{r:?}: empty Chinese");
            assert_ne!(en, zh, "{r:?}: same text in both languages");
            assert!(
                zh.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)),
                "{r:?}: `{zh}` is not Chinese"
            );
            assert!(
                en.chars().all(|c| !('\u{4e00}'..='\u{9fff}').contains(&c)),
                "{r:?}: `{en}` is not English"
            );
            // `Other` is the compatibility reason: it carries English by
            // definition, after a Chinese sentence.
            if !matches!(r, Reason::Other(_)) {
                let words = english_words(&zh);
                assert!(words.is_empty(), "{r:?}: `{zh}` has English {words:?}");
            }
        }
    }

    #[test]
    fn every_reason_keeps_a_stable_code() {
        for r in samples() {
            let e = AppError::from(r.clone());
            assert_eq!((e.kind, e.code), r.kind_and_code());
            assert_eq!(e.field.as_deref(), r.field());
        }
        assert_eq!(AppError::from(Reason::NoRoute).code, "no_route");
        assert_eq!(
            AppError::from(Reason::WrongStage {
                request_id: 1,
                kind: "loan".into(),
                stage: "checkout".into(),
                step: "withdraw".into(),
            })
            .code,
            "wrong_stage"
        );
    }

    #[test]
    fn ranges_show_their_own_bounds() {
        let e = in_range("received", 9, 1, 7).err();
        assert_eq!(
            e.as_ref().map(|e| e.text(Lang::Zh)).as_deref(),
            Some("实收数量须在 1 到 7 之间")
        );
        assert_eq!(
            e.as_ref().map(|e| e.text(Lang::En)).as_deref(),
            Some("received must be 1..=7")
        );
        assert_eq!(e.and_then(|e| e.field).as_deref(), Some("received"));
        let e = in_range("per_page", 501, 1, 500).err();
        assert_eq!(
            e.map(|e| e.text(Lang::Zh)).as_deref(),
            Some("每页条数须在 1 到 500 之间")
        );
        assert_eq!(
            in_range("quantity", 0, 1, 100_000)
                .err()
                .map(|e| e.text(Lang::Zh))
                .as_deref(),
            Some("数量须在 1 到 100000 之间")
        );
        assert_eq!(in_range("quantity", 5, 1, 100_000).ok(), Some(5));
    }

    #[test]
    fn file_limit_is_rendered_from_the_limit_given() {
        let text = |limit_bytes| {
            AppError::from(Reason::TooLarge {
                limit_bytes,
                size: None,
            })
            .text(Lang::Zh)
        };
        assert_eq!(text(5 * 1024 * 1024), "文件超过 5 MB，不能上传");
        assert_eq!(text(64 * 1024), "文件超过 64 KB，不能上传");
        assert_eq!(text(1000), "文件超过 1000 B，不能上传");
    }

    #[test]
    fn internal_details_stay_in_the_log() {
        let e = AppError::internal("database error: disk I/O");
        assert_eq!(e.text(Lang::En), INTERNAL_EN);
        assert!(!e.text(Lang::Zh).contains("disk"));
        assert!(e.message().contains("disk I/O"));
    }

    #[test]
    fn unconverted_errors_still_say_their_kind_in_chinese() {
        let e = AppError::new(ErrorKind::Conflict, "asset_held", "asset 1 is held");
        assert!(e
            .text(Lang::Zh)
            .starts_with("该资产已被其他未办结的申请占用"));
        let e = AppError::forbidden("no");
        assert!(e.text(Lang::Zh).starts_with("您的角色不能执行此操作"));
    }
}
