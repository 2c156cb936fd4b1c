//! The one application error type. Every layer (store, policy, handlers)
//! returns it; [`crate::http::error`] is the single place that turns it into
//! an HTTP response `{"error": {"code", "message", "field"?}}`.

use std::fmt;

use crate::i18n::{field_label, t, tv, Lang};
use crate::money::fen_to_yuan;

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
    /// Too many failed logins from this address or for this account.
    LoginThrottled {
        retry_after_secs: u64,
    },
    /// A cookie-authenticated change sent from another site (CSRF).
    CrossSite,
    /// A form without this session's form token (CSRF).
    FormTokenMissing,
    /// A password change whose old password is wrong.
    WrongOldPassword,
    /// `policy::authorize` said no; `roles` may (none: no person may).
    NotAllowed {
        actor: String,
        action: String,
        roles: Vec<String>,
    },
    /// The lifecycle refuses this action to the actor's role.
    RoleMayNot {
        asset: AssetRef,
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
        asset: AssetRef,
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
        asset: AssetRef,
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
    /// More entries in a list than one request may carry.
    TooMany {
        field: String,
        max: usize,
        given: Option<usize>,
    },
    /// A counter (page, batch sequence) below 1.
    StartsAtOne {
        field: String,
    },
    /// A page past the last one the offset arithmetic can reach.
    PageOutOfRange {
        page: i64,
    },
    /// A text whose length must lie in `min..=max` characters.
    Length {
        field: String,
        min: usize,
        max: usize,
    },
    /// A filter word (request kind, stage) that names nothing.
    Unknown {
        field: String,
        value: String,
    },
    /// The same asset twice in one request.
    AssetNamedTwice,
    /// 采购 asks for a category and quantity, never for named assets.
    PurchaseNamesAssets,
    /// A transfer of an asset the applicant's unit already holds.
    AlreadyYours {
        asset: AssetRef,
    },
    /// One transfer request asks one other unit.
    TransferOneUnit,
    /// An asset whose state rules it out of the request (`rule` says which).
    NotEligible {
        asset: AssetRef,
        state: String,
        rule: Eligibility,
    },
    /// A tag written with other bytes than the commission allocated.
    EpcMismatch {
        written: String,
        allocated: String,
    },
    /// A batch observation whose last sighting precedes its first.
    SeenBackwards {
        field: String,
    },
    /// A batch naming a reader the server does not know.
    UnknownReader {
        name: String,
    },
    /// No scanned tag belongs to the request being checked out.
    NoScanFits {
        scanned: usize,
        request_id: i64,
    },
    /// None of the scanned tags belongs to the intake.
    NoneOfIntake,
    /// A purchase fulfilled without naming any asset.
    NoAssetsToFulfil,
    WrongCategory {
        asset: AssetRef,
    },
    /// Unit price × quantity does not fit an amount.
    TotalTooLarge,
    /// A sum of amounts does not fit 64 bits.
    SumTooLarge {
        field: String,
    },
    /// A loan return listing no item.
    NoItemsReturned,
    /// An EPC not bound to any asset.
    TagNotRegistered {
        field: String,
        epc: String,
    },
    /// A line that names neither an EPC nor an asset.
    EpcOrAssetId {
        field: String,
    },
    NotOnLoan {
        field: String,
        asset: AssetRef,
        request_id: i64,
    },
    /// 上缴 must equal the hammer price less the auction fees.
    NotNetProceeds {
        hammer_fen: i64,
        fees_fen: i64,
        expected_fen: i64,
        given_fen: i64,
    },
    LostNotRepairable,
    /// A region must sit under a region one level up (a province under
    /// none).
    RegionParent {
        level: String,
        parent: Option<String>,
    },
    /// A compensation confirmed for another amount than is owed.
    OwedAmount {
        owed_fen: i64,
    },
    /// Fewer items arrived than were bought, without `accept_shortfall`.
    ShortDelivery {
        bought: i64,
        arrived: i64,
    },
    AssetNumberCount {
        given: usize,
        items: i64,
    },
    LocationElsewhere {
        location_id: i64,
        warehouse_id: i64,
    },
    NoSuchLine {
        field: String,
        stocktake_id: i64,
    },
    /// A resolution that does not fit the line's outcome.
    ActionNotForLine {
        action: String,
        outcome: String,
    },
    CommissionNotPending {
        commission_id: i64,
        status: String,
    },
    EpcBound {
        epc: String,
        asset: AssetRef,
    },
    /// `admin export-head` on a chain that does not verify.
    HeadNotExported {
        problem: String,
    },
    NothingToRekey,
    UnkeyedChainBroken {
        at: String,
    },
    UnkeyedChainTruncated,
    BackupExists {
        path: String,
    },
    AlreadyInitialised,
    WarehouseStockNotListed,
    /// A listing withdrawn while a transfer request asks for it.
    AskedFor {
        request_id: i64,
        asset: AssetRef,
    },
    HeldByLossCase {
        request_id: i64,
        asset: AssetRef,
    },
    StocktakeClosed {
        id: i64,
    },
    RelocateNeedsLocation,
    HeldByUnit {
        asset: AssetRef,
    },
    AlarmAcknowledged {
        id: i64,
    },
    SeedTaken {
        seed: String,
    },
    SimulationNeedsUnits,
    /// A unit-scoped listing asked by someone bound to no unit.
    NoUnit,
    OwnUnitOnly,
    /// Who files a request of this kind.
    FiledBy {
        kind: String,
        keepers_too: bool,
    },
    KeeperReports {
        asset: AssetRef,
    },
    /// Reader daemons never take request steps.
    PeopleOnly,
    ApplicantOnly {
        request_id: i64,
    },
    OtherUnitsRequest {
        request_id: i64,
    },
    TooManyStreams {
        limit: usize,
    },
    LiveNeedsSession,
    /// The request ran past `serving.request_timeout`.
    Timeout {
        limit_secs: u64,
    },
    /// Every database connection stayed busy for as long as a request may
    /// wait for one.
    DatabaseBusy {
        waited_secs: u64,
    },
    /// A transfer across regions already approved by the approver's side
    /// (`giving` or `receiving`); the other side's approval is awaited.
    SideApproved {
        side: String,
    },
    /// A compensation of another amount than the items' original value,
    /// without the approver's reason (`amount_reason`).
    CompensationNeedsReason {
        original_fen: i64,
        given_fen: i64,
    },
    /// Auction fees larger than the hammer price.
    FeesOverHammer {
        hammer_fen: i64,
        fees_fen: i64,
    },
    /// Auction fees recorded without the document that shows them.
    FeesNeedDocument {
        fees_fen: i64,
    },
    /// A document named for a step that is not attached to the request.
    NotRequestDocument {
        field: String,
        document_id: i64,
        request_id: i64,
    },
    /// A request sent both `lines` and the one-line shorthand
    /// (`category_id`, `quantity`, `asset_ids`).
    LinesAndShorthand,
    /// A field that a request of this kind does not take (`lines` on a
    /// transfer, `event` on a purchase).
    NotForKind {
        field: String,
        kind: String,
    },
    /// A line number that the request does not have.
    NoSuchRequestLine {
        field: String,
        request_id: i64,
        line_no: i64,
    },
    /// A desk scan (check-out or return) that moves some of a kit's
    /// members but not all: the kit goes out and comes back whole.
    KitIncomplete {
        kit: String,
        missing: Vec<AssetRef>,
    },
    /// An asset already in another kit.
    InOtherKit {
        asset: AssetRef,
        kit: String,
    },
    /// A kit taken apart while an open request holds its members.
    KitInUse {
        kit: String,
        request_id: i64,
    },
    /// Kits are named by loans and allocations only.
    KitsLoanOnly {
        kind: String,
    },
    /// A rental window ending before it starts.
    RentalEndsBeforeStart,
    /// A temporary tag already bound to a registered asset (`by` =
    /// `asset`) or to a rented item still out of its supplier's hands
    /// (`rental`).
    TagInUse {
        field: String,
        epc: String,
        by: String,
    },
    /// A rental serves a loan (an event), not a request of another kind.
    RentalForLoans {
        request_id: i64,
        kind: String,
    },
    /// A tag scanned for a rental that is not one of its items, or (with
    /// `status`) one not at the status the scan moves it from.
    NotThisRental {
        field: String,
        epc: String,
        status: Option<String>,
    },
    /// The rental went back to its supplier already.
    RentalClosed {
        rental_id: i64,
    },
    /// Returning a rental to its supplier while items are still out.
    RentalItemsOut {
        rental_id: i64,
        items: Vec<String>,
    },
    /// A report period whose last day (`to`) lies before its first.
    PeriodBackwards {
        from: String,
        to: String,
    },
    /// A `year` or `quarter` shortcut that is no year (2025) or quarter
    /// (2025Q3).
    BadPeriod {
        field: String,
        value: String,
    },
    /// A period given twice: `year`, `quarter` and `from`/`to` are
    /// alternatives.
    PeriodTwice {
        field: String,
    },
    /// An uploaded register that is no spreadsheet this server reads
    /// (.xlsx, .xls, .ods, or CSV text); `detail` says what was wrong.
    NotASpreadsheet {
        file: String,
        detail: String,
    },
    /// A register import refused because its rows have problems (the dry
    /// run lists each one); nothing was stored.
    ImportProblems {
        problems: usize,
    },
    /// A field an acquisition from this source needs (a donation's donor,
    /// a transfer-in's agency…).
    RequiredForSource {
        field: String,
        source: String,
    },
    /// A field an acquisition from this source does not take.
    NotForSource {
        field: String,
        source: String,
    },
    /// A date that may not lie after today (the day assets were received).
    AfterToday {
        field: String,
        today: String,
    },
    /// An idle finding already closed (answered, reclaimed or resolved).
    FindingClosed {
        finding_id: i64,
        outcome: String,
    },
    /// An answer that does not fit the finding: listing or handing in
    /// an asset its unit does not hold (an overdue loan, warehouse stock).
    AnswerNotFor {
        finding_id: i64,
        answer: String,
        rule: String,
    },
    /// A reclaim ordered for a finding whose asset no unit holds.
    NotReclaimable {
        finding_id: i64,
        rule: String,
    },
    /// An auditor (审计/纪检) tried to change something: the role reads only.
    ReadOnlyRole {
        actor: String,
    },
    /// A trail export names neither or both of an asset and a unit.
    TrailSubject,
    /// A stock-take names a warehouse or a unit (巡检), one of the two.
    WarehouseOrUnit,
    /// A unit confirms only an inspection at its premises.
    NotAnInspection {
        id: i64,
    },
    /// The unit confirms an inspection once the keeper has closed it.
    InspectionOpen {
        id: i64,
    },
    InspectionConfirmed {
        id: i64,
        by: String,
    },
    /// A request beyond the configuration standard waits for the agency
    /// head's extra approval.
    NeedsStandardApproval {
        request_id: i64,
    },
    /// Only the agency head gives that extra approval.
    NotAgencyHead,
    /// Nothing beyond the standard is waiting for an extra approval.
    WithinStandard {
        request_id: i64,
    },
    /// A standard limits a unit by count or per staff member, not both.
    StandardOneLimit,
    /// A reader token sent under a daemon id other than its own (or a
    /// sub-space of it).
    ForeignDaemon {
        own: String,
        claimed: String,
    },
    /// A reader token sent an observation for a reader not bound to its
    /// daemon; `field` is `observations[i].reader`.
    ReaderNotBound {
        field: String,
        reader: String,
        daemon: String,
        readers: Vec<String>,
    },
    /// A daemon id with `:`, which separates a daemon's sub-spaces.
    BadDaemonId {
        value: String,
    },
    /// A daemon registered without readers.
    NoReaders,
    /// The same reader twice in one registration.
    ReaderTwice {
        field: String,
        name: String,
    },
    /// Not `NAME:ROLE[:LOCATION_ID]`.
    BadReaderSpec {
        value: String,
    },
    /// Our fault: the detail goes to the log, never to a person.
    Internal(String),
    /// An asset number typed by hand (手工录入) that the register does not
    /// hold.
    UnknownAssetNumber {
        field: String,
        value: String,
    },
    /// An asset typed by hand that has no tag yet: desk and stock-take
    /// entries count as reads of its tag.
    AssetUntagged {
        field: String,
        asset_id: i64,
        asset_number: String,
    },
    /// Settling as missing (or otherwise) a stock-take line whose asset has
    /// been read since the page showed it.
    LineNowFound {
        stocktake_id: i64,
        asset_number: String,
    },
    /// A tag to confirm from the desk reader that no desk reader has read
    /// since it was to be written.
    TagNotAtDesk {
        epc: String,
    },
    /// A code or number typed by a person (an asset number, a location
    /// code) that names nothing.
    NoSuchCode {
        field: String,
        value: String,
    },
    /// A location code used in several warehouses; `places` are the
    /// candidates as "warehouse code".
    AmbiguousCode {
        field: String,
        value: String,
        places: Vec<String>,
    },
    /// A date that may not lie before today (a loan's start).
    BeforeToday {
        field: String,
        today: String,
    },
    /// Several fields wrong at once; each names its own (the form shows
    /// every one beside its field, the API lists them in `errors`).
    Several {
        problems: Vec<FieldProblem>,
    },
    /// An approval asked for more items of a category than are in stock.
    ShortOfStock {
        request_id: i64,
        category_id: i64,
        /// The category's name (for the Chinese text).
        category: String,
        asked: i64,
        in_stock: i64,
    },
    /// A contract number already recorded for another procurement (one
    /// contract is one procurement batch).
    ContractNumberUsed {
        contract_number: String,
        batch_id: i64,
    },
    /// A combined procurement names a request without its unit price.
    NoPriceLine {
        request_id: i64,
    },
    /// A combined procurement's price line for a request it does not name.
    PriceLineNotAsked {
        request_id: i64,
    },
    /// The same request twice in one combined procurement.
    RequestNamedTwice {
        request_id: i64,
    },
    /// A keeper's purchase is for the warehouse's own stock; a unit's
    /// purchase is filed by its staff.
    KeeperBuysForStock,
    /// `destination` says where a purchase's goods end; other requests
    /// have none.
    DestinationPurchaseOnly {
        kind: String,
    },
    /// 档期冲突 — approving or extending a loan would book more items of a
    /// category than are free on some days of its window.
    Overbooked {
        request_id: i64,
        shortages: Vec<CategoryShortage>,
    },
    /// An extension's new return day is not after the current one.
    DueNotLater {
        due: String,
    },
}

/// One category a loan's window is short of ([`Reason::Overbooked`]).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct CategoryShortage {
    pub category_id: i64,
    /// The category's name.
    pub category: String,
    pub asked: i64,
    /// The fewest items free on any day of the window.
    pub free: i64,
    /// `asked − free`.
    pub short: i64,
    /// First day short (YYYY-MM-DD).
    pub first_short: String,
    /// Last day short (YYYY-MM-DD).
    pub last_short: String,
    /// How many days of the window are short.
    pub days_short: i64,
}

/// One field's problem inside [`Reason::Several`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldProblem {
    pub field: String,
    pub reason: Reason,
}

/// An asset as an error names it: people know it by its number (资产编号,
/// printed on its label), API clients by the id they sent. `number` is
/// `None` only for an id that names no asset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssetRef {
    pub id: i64,
    pub number: Option<String>,
}

impl AssetRef {
    pub fn new(id: i64, number: impl Into<String>) -> Self {
        Self {
            id,
            number: Some(number.into()),
        }
    }

    /// "asset 1001 (id 5)": the number people read and the id the API
    /// was sent.
    fn en(&self) -> String {
        match &self.number {
            Some(n) => format!("asset {n} (id {})", self.id),
            None => format!("asset {}", self.id),
        }
    }

    /// "资产 1001 "; never the database id.
    fn zh(&self) -> String {
        match &self.number {
            Some(n) => format!("资产 {n} "),
            None => "该资产".into(),
        }
    }
}

/// Why an asset's state rules it out of a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Eligibility {
    /// 调配 and 借用 take in-stock assets.
    InStockOnly,
    /// 调剂 asks for virtual-warehouse listings.
    ListingsOnly,
    /// 交回 hands in what the unit holds.
    HeldOnly,
    AlreadyDisposed,
    /// A purchase fulfilled from in-stock items or listings.
    FulfilFrom,
    /// A kit is made of in-stock assets.
    KitFromStock,
}

impl Eligibility {
    fn en(self) -> &'static str {
        match self {
            Self::InStockOnly => "only in-stock assets can be requested",
            Self::ListingsOnly => "only virtual-warehouse listings can be asked for",
            Self::HeldOnly => "only items the unit holds can be handed in",
            Self::AlreadyDisposed => "it is already disposed",
            Self::FulfilFrom => "fulfil from in-stock items or other units' listings",
            Self::KitFromStock => "only in-stock assets can be put in a kit",
        }
    }

    fn zh(self) -> &'static str {
        match self {
            Self::InStockOnly => "只能申请在库的资产",
            Self::ListingsOnly => "只能申请公物仓中挂出的闲置资产",
            Self::HeldOnly => "只能交回本单位持有的资产",
            Self::AlreadyDisposed => "该资产已处置",
            Self::FulfilFrom => "请用在库资产或其他单位挂出的闲置资产配发",
            Self::KitFromStock => "只有在库资产才能组成套装",
        }
    }
}

/// A request as the pages number it: "申请（编号 12）".
fn request_zh(id: i64) -> String {
    format!("申请（编号 {id}）")
}

/// Words joined with "or" / "或".
fn or_en(words: &[impl AsRef<str>]) -> String {
    words
        .iter()
        .map(|w| w.as_ref())
        .collect::<Vec<_>>()
        .join(" or ")
}

/// Words joined as Chinese lists them: "甲、乙或丙".
fn or_zh(words: &[impl AsRef<str>]) -> String {
    let words: Vec<String> = words.iter().map(|w| word_zh(w.as_ref())).collect();
    match words.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{}或{last}", rest.join("、")),
        _ => words.concat(),
    }
}

/// A state, stage, role or kind in Chinese, from the one word table.
fn word_zh(key: &str) -> String {
    tv(Lang::Zh, key)
}

/// A field's Chinese name; "此项" for one without a label.
fn label(field: &str) -> &'static str {
    // A request line's field (`lines[2].quantity`) is named as the field;
    // the page shows it beside its row.
    let field = match field
        .strip_prefix("lines[")
        .or_else(|| field.strip_prefix("assets["))
    {
        Some(rest) => rest.split_once("].").map_or(field, |(_, f)| f),
        None => field,
    };
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
        "daemon" => "读写器主机",
        "kit" => "套装",
        "rental" => "租用合同",
        _ => "记录",
    }
}

/// What a `policy::Action` (by its Rust name) lets one do, in Chinese.
fn action_zh(action: &str) -> Option<&'static str> {
    Some(match action {
        "ViewAsset" => "查看资产",
        "CreateAsset" => "登记资产",
        "UpdateAsset" => "修改资产信息",
        "GrantEmergencyPass" => "紧急放行",
        "CommissionTag" => "写入电子标签",
        "ManageRegister" => "维护基础数据",
        "ViewRegister" => "查看基础数据",
        "RunStockTake" => "盘点",
        "ViewStockTake" => "查看盘点",
        "HandleAlarm" => "处理出口报警",
        "ViewAlarms" => "查看出口报警",
        "VerifyLog" => "校验事件日志",
        "IngestObservations" => "上报读取记录",
        "FileRequest" => "提交申请",
        "ViewRequests" => "查看申请",
        "ActOnRequest" => "办理申请",
        "ListIdle" => "挂出闲置资产",
        "BrowseVirtualWarehouse" => "浏览虚拟仓",
        "ViewReports" => "查看报表",
        "ViewReaderHealth" => "查看读写器状态",
        "ReportHealth" => "上报读写器状态",
        "ViewWarnings" => "查看预警",
        "ViewAuditLog" => "查看审计日志",
        "ExportTrail" => "导出审计轨迹",
        _ => return None,
    })
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
            | R::TooMany { .. }
            | R::StartsAtOne { .. }
            | R::PageOutOfRange { .. }
            | R::Length { .. }
            | R::Unknown { .. }
            | R::AssetNamedTwice
            | R::PurchaseNamesAssets
            | R::AlreadyYours { .. }
            | R::TransferOneUnit
            | R::EpcMismatch { .. }
            | R::SeenBackwards { .. }
            | R::UnknownReader { .. }
            | R::NoScanFits { .. }
            | R::NoneOfIntake
            | R::NoAssetsToFulfil
            | R::WrongCategory { .. }
            | R::TotalTooLarge
            | R::SumTooLarge { .. }
            | R::NoItemsReturned
            | R::TagNotRegistered { .. }
            | R::EpcOrAssetId { .. }
            | R::NotOnLoan { .. }
            | R::NotNetProceeds { .. }
            | R::CompensationNeedsReason { .. }
            | R::FeesOverHammer { .. }
            | R::FeesNeedDocument { .. }
            | R::NotRequestDocument { .. }
            | R::LostNotRepairable
            | R::RegionParent { .. }
            | R::OwedAmount { .. }
            | R::ShortDelivery { .. }
            | R::AssetNumberCount { .. }
            | R::LocationElsewhere { .. }
            | R::NoSuchLine { .. }
            | R::ActionNotForLine { .. }
            | R::BadDaemonId { .. }
            | R::NoReaders
            | R::ReaderTwice { .. }
            | R::BadReaderSpec { .. }
            | R::BeforeToday { .. }
            | R::DueNotLater { .. }
            | R::Several { .. } => (K::Invalid, "invalid"),
            R::ShortOfStock { .. } => (K::Conflict, "short_of_stock"),
            R::ContractNumberUsed { .. } => (K::Conflict, "contract_number_used"),
            R::NoPriceLine { .. }
            | R::PriceLineNotAsked { .. }
            | R::RequestNamedTwice { .. }
            | R::KeeperBuysForStock
            | R::DestinationPurchaseOnly { .. } => (K::Invalid, "invalid"),
            R::Overbooked { .. } => (K::Conflict, "overbooked"),
            R::ForeignDaemon { .. } | R::ReaderNotBound { .. } => (K::Forbidden, "not_bound"),
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
            R::LoginThrottled { .. } => (K::TooManyRequests, "login_throttled"),
            R::CrossSite => (K::Forbidden, "cross_site"),
            R::FormTokenMissing => (K::Forbidden, "form_token"),
            R::WrongOldPassword => (K::Invalid, "wrong_password"),
            R::LiveNeedsSession => (K::Unauthenticated, "unauthenticated"),
            R::NotAllowed { .. }
            | R::RoleMayNot { .. }
            | R::StepNotYours { .. }
            | R::NoUnit
            | R::OwnUnitOnly
            | R::FiledBy { .. }
            | R::KeeperReports { .. }
            | R::PeopleOnly
            | R::ApplicantOnly { .. }
            | R::OtherUnitsRequest { .. } => (K::Forbidden, "forbidden"),
            R::NoCompanyPrefix
            | R::CommissionNotPending { .. }
            | R::EpcBound { .. }
            | R::HeadNotExported { .. }
            | R::NothingToRekey
            | R::UnkeyedChainBroken { .. }
            | R::UnkeyedChainTruncated
            | R::BackupExists { .. }
            | R::AlreadyInitialised
            | R::WarehouseStockNotListed
            | R::AskedFor { .. }
            | R::HeldByLossCase { .. }
            | R::StocktakeClosed { .. }
            | R::RelocateNeedsLocation
            | R::HeldByUnit { .. }
            | R::AlarmAcknowledged { .. }
            | R::SeedTaken { .. }
            | R::SimulationNeedsUnits => (K::Conflict, "conflict"),
            R::WrongState { .. } | R::NotEligible { .. } => (K::Conflict, "wrong_state"),
            R::WrongStage { .. } => (K::Conflict, "wrong_stage"),
            R::AssetHeld { .. } => (K::Conflict, "asset_held"),
            R::Duplicate { .. } => (K::Conflict, "duplicate"),
            R::UnknownReference { .. } => (K::Conflict, "unknown_reference"),
            R::ConstraintViolated { .. } => (K::Conflict, "constraint"),
            R::NotFound { .. } => (K::NotFound, "not_found"),
            R::NoRoute => (K::NotFound, "no_route"),
            R::MethodNotAllowed => (K::MethodNotAllowed, "method_not_allowed"),
            R::TooManyStreams { .. } => (K::TooManyRequests, "too_many_streams"),
            R::Timeout { .. } => (K::Unavailable, "request_timeout"),
            R::DatabaseBusy { .. } => (K::Unavailable, "database_busy"),
            R::SideApproved { .. } => (K::Conflict, "side_approved"),
            R::LinesAndShorthand => (K::Invalid, "lines_and_shorthand"),
            R::NotForKind { .. } => (K::Invalid, "not_for_kind"),
            R::NoSuchRequestLine { .. } => (K::Invalid, "no_such_request_line"),
            R::KitIncomplete { .. } => (K::Conflict, "kit_incomplete"),
            R::InOtherKit { .. } => (K::Conflict, "in_other_kit"),
            R::KitInUse { .. } => (K::Conflict, "kit_in_use"),
            R::KitsLoanOnly { .. } => (K::Invalid, "kits_loan_only"),
            R::RentalEndsBeforeStart => (K::Invalid, "ends_before_start"),
            R::TagInUse { .. } => (K::Conflict, "tag_in_use"),
            R::RentalForLoans { .. } => (K::Invalid, "rental_for_loans"),
            R::NotThisRental { .. } => (K::Conflict, "not_this_rental"),
            R::RentalClosed { .. } => (K::Conflict, "rental_closed"),
            R::RentalItemsOut { .. } => (K::Conflict, "rental_items_out"),
            R::PeriodBackwards { .. } => (K::BadRequest, "period_backwards"),
            R::BadPeriod { .. } => (K::BadRequest, "bad_period"),
            R::PeriodTwice { .. } => (K::BadRequest, "period_twice"),
            R::NotASpreadsheet { .. } => (K::Invalid, "not_a_spreadsheet"),
            R::ImportProblems { .. } => (K::Invalid, "import_problems"),
            R::RequiredForSource { .. } => (K::Invalid, "required"),
            R::NotForSource { .. } => (K::Invalid, "not_for_source"),
            R::AfterToday { .. } => (K::Invalid, "after_today"),
            R::FindingClosed { .. } => (K::Conflict, "finding_closed"),
            R::AnswerNotFor { .. } => (K::Conflict, "answer_not_for"),
            R::NotReclaimable { .. } => (K::Conflict, "not_reclaimable"),
            R::ReadOnlyRole { .. } => (K::Forbidden, "read_only_role"),
            R::TrailSubject => (K::Invalid, "trail_subject"),
            R::WarehouseOrUnit => (K::Invalid, "warehouse_or_unit"),
            R::NotAnInspection { .. } => (K::Conflict, "not_an_inspection"),
            R::InspectionOpen { .. } => (K::Conflict, "inspection_open"),
            R::InspectionConfirmed { .. } => (K::Conflict, "inspection_confirmed"),
            R::NeedsStandardApproval { .. } => (K::Conflict, "needs_standard_approval"),
            R::NotAgencyHead => (K::Forbidden, "not_agency_head"),
            R::WithinStandard { .. } => (K::Conflict, "within_standard"),
            R::StandardOneLimit => (K::Invalid, "standard_one_limit"),
            R::Internal(_) => (K::Internal, "internal"),
            R::UnknownAssetNumber { .. } => (K::Invalid, "unknown_asset_number"),
            R::AssetUntagged { .. } => (K::Conflict, "untagged"),
            R::LineNowFound { .. } => (K::Conflict, "line_now_found"),
            R::TagNotAtDesk { .. } => (K::Conflict, "not_at_desk"),
            R::NoSuchCode { .. } => (K::Invalid, "no_such_code"),
            R::AmbiguousCode { .. } => (K::Invalid, "ambiguous_code"),
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
            | R::DoesNotExist { field, .. }
            | R::NoSuchCode { field, .. }
            | R::AmbiguousCode { field, .. }
            | R::TooMany { field, .. }
            | R::StartsAtOne { field }
            | R::SumTooLarge { field }
            | R::Length { field, .. }
            | R::Unknown { field, .. }
            | R::SeenBackwards { field }
            | R::TagNotRegistered { field, .. }
            | R::EpcOrAssetId { field }
            | R::NotOnLoan { field, .. }
            | R::NoSuchLine { field, .. }
            | R::ReaderNotBound { field, .. }
            | R::ReaderTwice { field, .. }
            | R::UnknownAssetNumber { field, .. }
            | R::AssetUntagged { field, .. }
            | R::BeforeToday { field, .. }
            | R::NotForKind { field, .. }
            | R::NoSuchRequestLine { field, .. }
            | R::BadPeriod { field, .. }
            | R::PeriodTwice { field }
            | R::RequiredForSource { field, .. }
            | R::NotForSource { field, .. }
            | R::AfterToday { field, .. } => Some(field),
            R::PeriodBackwards { .. } => Some("to"),
            R::TrailSubject => Some("asset_id"),
            R::WarehouseOrUnit => Some("warehouse_id"),
            R::StandardOneLimit => Some("per_staff"),
            R::LinesAndShorthand => Some("lines"),
            R::Several { problems } => problems.first().map(|p| p.field.as_str()),
            R::PageOutOfRange { .. } => Some("page"),
            R::ContractNumberUsed { .. } => Some("contract_number"),
            R::NoPriceLine { .. } | R::PriceLineNotAsked { .. } => Some("lines"),
            R::RequestNamedTwice { .. } => Some("request_ids"),
            R::KeeperBuysForStock | R::DestinationPurchaseOnly { .. } => Some("destination"),
            R::AssetNamedTwice
            | R::PurchaseNamesAssets
            | R::AlreadyYours { .. }
            | R::TransferOneUnit
            | R::NoAssetsToFulfil
            | R::WrongCategory { .. } => Some("asset_ids"),
            R::EpcMismatch { .. } => Some("epc"),
            R::UnknownReader { .. } => Some("reader"),
            R::NoScanFits { .. } | R::NoneOfIntake => Some("epcs"),
            R::TotalTooLarge => Some("unit_price_fen"),
            R::NoItemsReturned => Some("items"),
            R::NotNetProceeds { .. } | R::OwedAmount { .. } => Some("amount_fen"),
            R::CompensationNeedsReason { .. } => Some("amount_reason"),
            R::FeesOverHammer { .. } => Some("fees_fen"),
            R::FeesNeedDocument { .. } => Some("fees_document_id"),
            R::NotRequestDocument { field, .. } => Some(field),
            R::LostNotRepairable => Some("remedy"),
            R::RegionParent { .. } => Some("parent_id"),
            R::InOtherKit { .. } => Some("asset_ids"),
            R::KitsLoanOnly { .. } => Some("kit_ids"),
            R::RentalEndsBeforeStart => Some("ends"),
            R::TagInUse { field, .. } | R::NotThisRental { field, .. } => Some(field),
            R::RentalForLoans { .. } => Some("request_id"),
            R::ShortDelivery { .. } => Some("received"),
            R::AssetNumberCount { .. } => Some("asset_numbers"),
            R::LocationElsewhere { .. } => Some("location_id"),
            R::ActionNotForLine { .. } => Some("action"),
            R::ForeignDaemon { .. } | R::BadDaemonId { .. } => Some("daemon_id"),
            R::NoReaders => Some("readers"),
            R::BadReaderSpec { .. } => Some("reader"),
            R::Duplicate { field, .. } | R::ConstraintViolated { field, .. } => field.as_deref(),
            R::DueBeforeStart => Some("loan_due"),
            R::DueNotLater { .. } => Some("new_due"),
            R::PasswordTooShort { .. } => Some("password"),
            R::BadUsername => Some("username"),
            R::WrongOldPassword => Some("old_password"),
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
            R::LoginThrottled { retry_after_secs } => {
                format!("too many failed logins; try again in {retry_after_secs} s")
            }
            R::CrossSite => "refused: this change was sent from another site".into(),
            R::FormTokenMissing => {
                "refused: the form token is missing or stale; reload the page and try again".into()
            }
            R::WrongOldPassword => "the current password is wrong".into(),
            R::NotAllowed {
                actor,
                action,
                roles,
            } => {
                if roles.is_empty() {
                    format!("{actor} may not {action} here")
                } else {
                    format!("{actor} may not {action} here; it takes {}", or_en(roles))
                }
            }
            R::RoleMayNot { asset, action } => {
                format!("your role may not {action} {}", asset.en())
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
                asset,
                state,
                action,
                expected,
            } => format!(
                "{} is {state}; {action} needs it to be {}",
                asset.en(),
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
            R::AssetHeld { asset, request_id } => format!(
                "{} is already held by open request {request_id}",
                asset.en()
            ),
            R::NotFound { what, id } => format!("{what} {id} not found"),
            R::ForeignDaemon { own, claimed } => {
                format!("this token belongs to daemon `{own}`; it may not send as `{claimed}`")
            }
            R::ReaderNotBound {
                reader,
                daemon,
                readers,
                ..
            } => format!(
                "reader `{reader}` is not bound to daemon `{daemon}` (its readers: {})",
                readers.join(", ")
            ),
            R::BadDaemonId { value } => format!(
                "daemon id `{value}` must not contain `:` (it separates a daemon's sub-spaces)"
            ),
            R::NoReaders => "name at least one reader the daemon drives".into(),
            R::ReaderTwice { name, .. } => format!("reader `{name}` is named twice"),
            R::BadReaderSpec { value } => format!(
                "reader `{value}` is not NAME:ROLE[:LOCATION_ID] with ROLE gate, desk or handheld"
            ),
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
            R::TooMany {
                field,
                max,
                given: None,
            } => format!("{field}: at most {max} entries"),
            R::TooMany {
                field,
                max,
                given: Some(n),
            } => format!("{field} has {n} entries; at most {max}"),
            R::StartsAtOne { field } => format!("{field} starts at 1"),
            R::PageOutOfRange { page } => format!("page {page} is out of range"),
            R::Length { field, min, max } => format!("{field} must be {min}–{max} characters"),
            R::Unknown { field, value } => format!("unknown {field} `{value}`"),
            R::AssetNamedTwice => "an asset is named twice".into(),
            R::PurchaseNamesAssets => {
                "a purchase asks for a category and quantity, not specific assets".into()
            }
            R::AlreadyYours { asset } => format!("{} is already your unit's", asset.en()),
            R::TransferOneUnit => "one transfer asks one unit; file one request per unit".into(),
            R::NotEligible { asset, state, rule } => {
                format!("{} is {state}; {}", asset.en(), rule.en())
            }
            R::EpcMismatch { written, allocated } => {
                format!("written EPC {written} differs from the allocated {allocated}")
            }
            R::SeenBackwards { .. } => "last_seen is before first_seen".into(),
            R::UnknownReader { name } => format!("reader `{name}` is not registered"),
            R::NoScanFits {
                scanned,
                request_id,
            } => format!("none of the {scanned} scanned tags fits request {request_id}"),
            R::NoneOfIntake => "none of the scanned items belongs to this intake".into(),
            R::NoAssetsToFulfil => "name the assets to fulfil from".into(),
            R::WrongCategory { asset } => {
                format!("{} is not of the requested category", asset.en())
            }
            R::TotalTooLarge => "unit price × quantity is too large".into(),
            R::SumTooLarge { field } => format!("the total of {field} is too large to record"),
            R::NoItemsReturned => "no items returned".into(),
            R::TagNotRegistered { epc, .. } => format!("tag {epc} is not in the register"),
            R::EpcOrAssetId { .. } => "give the epc or the asset_id".into(),
            R::NotOnLoan {
                asset, request_id, ..
            } => format!("{} is not out on loan {request_id}", asset.en()),
            R::NotNetProceeds {
                hammer_fen,
                fees_fen,
                expected_fen,
                given_fen,
            } => format!(
                "the proceeds remitted must be the hammer price less the auction fees: \
                 {hammer_fen} - {fees_fen} = {expected_fen} fen; {given_fen} fen given"
            ),
            R::CompensationNeedsReason {
                original_fen,
                given_fen,
            } => format!(
                "compensation defaults to the items' original value ({original_fen} fen); \
                 another amount ({given_fen} fen) needs amount_reason"
            ),
            R::FeesOverHammer {
                hammer_fen,
                fees_fen,
            } => format!(
                "the auction fees ({fees_fen} fen) exceed the hammer price ({hammer_fen} fen)"
            ),
            R::FeesNeedDocument { fees_fen } => format!(
                "auction fees of {fees_fen} fen need their document: upload it to the request \
                 and give its id as fees_document_id"
            ),
            R::NotRequestDocument {
                field,
                document_id,
                request_id,
            } => format!("{field}: document {document_id} is not attached to request {request_id}"),
            R::LostNotRepairable => "a lost item cannot be repaired".into(),
            R::RegionParent { level, parent } => match parent {
                Some(p) => format!("a {level} region must be under a {p} region"),
                None => format!("a {level} region is at the top and has no parent"),
            },
            R::OwedAmount { owed_fen } => format!("{owed_fen} fen is owed; confirm that amount"),
            R::ShortDelivery { bought, arrived } => format!(
                "{bought} were bought but {arrived} arrived; set accept_shortfall to record a short delivery"
            ),
            R::AssetNumberCount { given, items } => {
                format!("{given} asset numbers given for {items} items")
            }
            R::LocationElsewhere {
                location_id,
                warehouse_id,
            } => format!("location {location_id} is not in warehouse {warehouse_id}"),
            R::NoSuchLine { stocktake_id, .. } => {
                format!("no such line in stock-take {stocktake_id}")
            }
            R::ActionNotForLine { action, outcome } => {
                format!("{action} does not apply to a {outcome} line")
            }
            R::CommissionNotPending {
                commission_id,
                status,
            } => format!("tag commission {commission_id} is {status}, not pending"),
            R::EpcBound { epc, asset } => format!("EPC {epc} is bound to {}", asset.en()),
            R::HeadNotExported { problem } => {
                format!("the database does not verify, so its head is not exported: {problem}")
            }
            R::NothingToRekey => "the chain already verifies under this key; nothing to rekey".into(),
            R::UnkeyedChainBroken { at } => format!(
                "{at}: the unkeyed chain is already broken here; run `admin verify-log` on a \
                 backup and investigate before sealing anything"
            ),
            R::UnkeyedChainTruncated => "the unkeyed chain does not end at its recorded head \
                                         (rows were removed from the end)"
                .into(),
            R::BackupExists { path } => {
                format!("backup target {path} already exists; choose a new file")
            }
            R::AlreadyInitialised => {
                "already initialised: an administrator exists (use `admin create-user`)".into()
            }
            R::WarehouseStockNotListed => {
                "warehouse stock is not listed; units list what they hold".into()
            }
            R::AskedFor { request_id, asset } => format!(
                "request {request_id} asks for {}; it must be decided first",
                asset.en()
            ),
            R::HeldByLossCase { request_id, asset } => format!(
                "loss case {request_id} holds {}; decide it first",
                asset.en()
            ),
            R::StocktakeClosed { id } => format!("stock-take {id} is closed"),
            R::RelocateNeedsLocation => "this stock-take covers a whole warehouse; relocate needs \
                                         a stock-take of one location"
                .into(),
            R::HeldByUnit { asset } => format!(
                "{} is held by a unit; return it through a request, not a stock-take",
                asset.en()
            ),
            R::AlarmAcknowledged { id } => format!("alarm {id} is already acknowledged"),
            R::SeedTaken { seed } => {
                format!("simulated users of seed {seed} exist already; use another --seed")
            }
            R::SimulationNeedsUnits => "the simulation needs at least two units".into(),
            R::NoUnit => "your account is bound to no unit".into(),
            R::OwnUnitOnly => "unit staff file requests for their own unit only".into(),
            R::FiledBy { kind, keepers_too } => format!(
                "{kind} requests are filed by unit staff{}",
                if *keepers_too { " or keepers" } else { "" }
            ),
            R::KeeperReports { asset } => {
                format!("{} is warehouse stock; a keeper reports it", asset.en())
            }
            R::PeopleOnly => "only people take steps on requests".into(),
            R::ApplicantOnly { request_id } => {
                format!("only the applicant may withdraw request {request_id}")
            }
            R::OtherUnitsRequest { request_id } => {
                format!("request {request_id} concerns another unit")
            }
            R::TooManyStreams { limit } => format!(
                "this session already has {limit} live update streams open, the limit; \
                 close another tab of the desk or stock-take page"
            ),
            R::LiveNeedsSession => "a live stream needs a login session".into(),
            R::Timeout { limit_secs } => format!(
                "the request took longer than the server's limit of {limit_secs} s and was stopped"
            ),
            R::DatabaseBusy { waited_secs } => format!(
                "every database connection stayed busy for {waited_secs} s; try again shortly"
            ),
            R::SideApproved { side } => format!(
                "the {side} region has already approved this transfer; the other region's approval is awaited"
            ),
            R::LinesAndShorthand => "send either `lines` or the one-line shorthand (category_id, quantity, asset_ids), not both".into(),
            R::NotForKind { field, kind } => format!("{field} does not apply to a {kind} request"),
            R::NoSuchRequestLine { request_id, line_no, .. } => {
                format!("request {request_id} has no line {line_no}")
            }
            R::KitIncomplete { kit, missing } => format!(
                "kit `{kit}` goes out and comes back whole; not scanned: {}",
                missing.iter().map(|a| a.en()).collect::<Vec<_>>().join(", ")
            ),
            R::InOtherKit { asset, kit } => format!("{} is already in kit `{kit}`", asset.en()),
            R::KitInUse { kit, request_id } => format!(
                "kit `{kit}` is held by request {request_id}; take it apart once that request is closed"
            ),
            R::KitsLoanOnly { kind } => {
                format!("only loans and allocations name kits, not a {kind} request")
            }
            R::RentalEndsBeforeStart => "the rental ends before it starts".into(),
            R::TagInUse { epc, by, .. } => format!(
                "tag {epc} is already in use by {}",
                if by == "asset" { "a registered asset" } else { "a rented item not yet returned to its supplier" }
            ),
            R::RentalForLoans { request_id, kind } => format!(
                "request {request_id} is a {kind} request; rentals serve loans (events)"
            ),
            R::NotThisRental { epc, status: None, .. } => {
                format!("tag {epc} is not one of this rental's items")
            }
            R::NotThisRental { epc, status: Some(s), .. } => {
                format!("the rented item with tag {epc} is {s}, not where this scan moves it from")
            }
            R::RentalClosed { rental_id } => {
                format!("rental {rental_id} has gone back to its supplier")
            }
            R::RentalItemsOut { rental_id, items } => format!(
                "rental {rental_id} still has items out with the event: {}",
                items.join(", ")
            ),
            R::PeriodBackwards { from, to } => {
                format!("to ({to}) lies before from ({from}): a period ends on or after its start")
            }
            R::BadPeriod { field, value } => format!(
                "{field} `{value}` is not a period: from and to are YYYY-MM-DD dates, a year is \
                 written 2025, a quarter 2025Q3 (Q1 to Q4)"
            ),
            R::PeriodTwice { field } => format!(
                "{field} gives a second period: use one of year, quarter, or from and to"
            ),
            R::NotASpreadsheet { file, detail } => format!(
                "`{file}` is not a spreadsheet this server reads (.xlsx, .xls, .ods or CSV): {detail}"
            ),
            R::ImportProblems { problems } => format!(
                "the register has {problems} problem(s); nothing was imported (a dry run lists each by row and column)"
            ),
            R::RequiredForSource { field, source } => {
                format!("{field} is required for an acquisition from source {source}")
            }
            R::NotForSource { field, source } => {
                format!("{field} does not apply to an acquisition from source {source}")
            }
            R::AfterToday { field, today } => {
                format!("{field} may not lie after today ({today})")
            }
            R::FindingClosed {
                finding_id,
                outcome,
            } => format!("idle finding {finding_id} is already closed ({outcome})"),
            R::AnswerNotFor {
                finding_id,
                answer,
                rule,
            } => format!(
                "idle finding {finding_id} ({rule}) cannot be answered by {answer}: its unit \
                 does not hold the asset; explain instead"
            ),
            R::NotReclaimable { finding_id, rule } => format!(
                "idle finding {finding_id} ({rule}) is not about an asset a unit holds; \
                 nothing to reclaim"
            ),
            R::ReadOnlyRole { actor } => {
                format!("{actor} is an auditor: the role reads only and may not change anything")
            }
            R::TrailSubject => "give exactly one of asset_id and unit_id".into(),
            R::WarehouseOrUnit => "give warehouse_id (a warehouse stock-take) or unit_id (an \
                inspection at a unit's premises), one of the two"
                .into(),
            R::NotAnInspection { id } => format!(
                "stock-take {id} counts a warehouse; only an inspection at a unit's premises is \
                 confirmed by the unit"
            ),
            R::InspectionOpen { id } => format!(
                "inspection {id} is still open: the unit confirms it once the keeper has closed it"
            ),
            R::InspectionConfirmed { id, by } => {
                format!("inspection {id} was already confirmed by {by}")
            }
            R::NeedsStandardApproval { request_id } => format!(
                "request {request_id} asks beyond the configuration standard: the agency head must \
                 give the extra approval (step approve_over_standard) before it can go on"
            ),
            R::NotAgencyHead => "only the agency head (an approver marked as head) gives the \
                extra approval of an over-standard request"
                .into(),
            R::WithinStandard { request_id } => format!(
                "request {request_id} has nothing beyond the configuration standard awaiting an \
                 extra approval"
            ),
            R::StandardOneLimit => "give per_unit (a count per unit) or per_staff (a count per \
                staff member), not both"
                .into(),
            R::Internal(detail) => detail.clone(),
            R::UnknownAssetNumber { value, .. } => {
                format!("asset number `{value}` is not in the register")
            }
            R::AssetUntagged { asset_number, .. } => format!(
                "asset {asset_number} has no tag yet; write its tag first (its page offers it)"
            ),
            R::LineNowFound {
                stocktake_id,
                asset_number,
            } => format!(
                "asset {asset_number} has been read in stock-take {stocktake_id} since the list \
                 was shown: it is found, not missing"
            ),
            R::TagNotAtDesk { epc } => format!(
                "no desk reader has read {epc} since it was to be written; lay the tag on the \
                 desk reader, or type the EPC read back"
            ),
            R::NoSuchCode { field, value } => format!("no {field} `{value}` is registered"),
            R::AmbiguousCode {
                field,
                value,
                places,
            } => format!(
                "{field} `{value}` is used in several warehouses ({}); name the warehouse too, \
                 for example `{}`",
                places.join(", "),
                places.first().map(String::as_str).unwrap_or_default()
            ),
            R::BeforeToday { field, today } => {
                format!("{field} must not be before today ({today})")
            }
            R::Several { problems } => format!(
                "{} problems: {}",
                problems.len(),
                problems
                    .iter()
                    .map(|p| format!("{}: {}", p.field, p.reason.en()))
                    .collect::<Vec<_>>()
                    .join("; ")
            ),
            R::ShortOfStock {
                request_id,
                category_id,
                asked,
                in_stock,
                ..
            } => format!(
                "request {request_id} asks for {asked} items of category {category_id} but \
                 {in_stock} are in stock; \
                 it can be approved once stock has arrived"
            ),
            R::ContractNumberUsed {
                contract_number,
                batch_id,
            } => format!(
                "contract number `{contract_number}` is already the contract of procurement \
                 batch {batch_id}; one contract is one procurement (buy several requests under \
                 one contract together: POST /api/v1/procurements)"
            ),
            R::NoPriceLine { request_id } => {
                format!("lines has no unit price for request {request_id}")
            }
            R::PriceLineNotAsked { request_id } => format!(
                "lines prices request {request_id}, which is not in request_ids"
            ),
            R::RequestNamedTwice { request_id } => {
                format!("request {request_id} is named twice in this procurement")
            }
            R::KeeperBuysForStock => "a keeper files purchases for the warehouse's own stock \
                 (destination `warehouse`); a unit's purchase is filed by its staff"
                .into(),
            R::DestinationPurchaseOnly { kind } => {
                format!("destination applies to purchase requests only, not to a {kind} request")
            }
            R::Overbooked {
                request_id,
                shortages,
            } => format!(
                "request {request_id} would overbook its dates: {}",
                shortages
                    .iter()
                    .map(|s| format!(
                        "category {} asks {} but only {} are free from {} to {} ({} short)",
                        s.category_id, s.asked, s.free, s.first_short, s.last_short, s.short
                    ))
                    .collect::<Vec<_>>()
                    .join("; ")
            ),
            R::DueNotLater { due } => {
                format!("new_due must be after the loan's current return day ({due})")
            }
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
            R::LoginThrottled { retry_after_secs } => {
                format!("登录失败次数过多，请 {retry_after_secs} 秒后再试")
            }
            R::CrossSite => "已拒绝：该操作来自其他网站".into(),
            R::FormTokenMissing => "已拒绝：表单已过期，请刷新页面后重试".into(),
            R::WrongOldPassword => "当前密码不正确".into(),
            R::NotAllowed { action, roles, .. } => match (action_zh(action), roles.is_empty()) {
                (_, true) => t(Lang::Zh, "not_allowed").into(),
                (Some(what), false) => format!("{what}需要{}的权限", or_zh(roles)),
                (None, false) => format!("此操作需要{}的权限", or_zh(roles)),
            },
            R::RoleMayNot { asset, .. } => {
                format!("{}（{}）", t(Lang::Zh, "not_allowed"), asset.zh().trim_end())
            }
            R::StepNotYours {
                request_id,
                stage,
                roles,
                ..
            } => format!(
                "{} 在「{}」阶段的这一步应由{}办理",
                request_zh(*request_id),
                word_zh(stage),
                or_zh(roles)
            ),
            R::WrongState {
                asset,
                state,
                expected,
                ..
            } => format!(
                "{}当前为「{}」，此操作需要其为「{}」",
                asset.zh(),
                word_zh(state),
                or_zh(expected)
            ),
            R::WrongStage {
                request_id, stage, ..
            } => format!(
                "{}当前处于「{}」阶段，不能办理此步骤",
                request_zh(*request_id),
                word_zh(stage)
            ),
            R::AssetHeld { asset, request_id } => format!(
                "{}已被未办结的{}占用",
                asset.zh(),
                request_zh(*request_id)
            ),
            R::NotFound { what, id } => match (id.parse::<i64>(), *what) {
                // Requests and stock-takes are numbered by their id on the
                // pages; other records' ids mean nothing to a person.
                (Ok(n), "request" | "stocktake" | "stock-take") => {
                    format!("找不到编号为 {n} 的{}", noun_zh(what))
                }
                (Ok(_), _) => format!("找不到该{}", noun_zh(what)),
                (Err(_), _) => format!("找不到{}（{id}）", noun_zh(what)),
            },
            R::ForeignDaemon { .. } => "此令牌只能以其所属读写器主机的标识上报".into(),
            R::ReaderNotBound { .. } => "此令牌所属的读写器主机未连接该读写器".into(),
            R::BadDaemonId { .. } => "主机标识不能含有冒号".into(),
            R::NoReaders => "请至少填写一个所连读写器".into(),
            R::ReaderTwice { .. } => "同一读写器填写了两次".into(),
            R::BadReaderSpec { .. } => {
                "读写器应写作“名称:角色[:货位编号]”，角色为出口、出库台或手持机的代码".into()
            }
            R::DoesNotExist { field, .. } => format!("所选的{}不存在", label(field)),
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
            R::TooMany {
                field,
                max,
                given: None,
            } => format!("{}最多 {max} 项", label(field)),
            R::TooMany {
                field,
                max,
                given: Some(n),
            } => format!("{}共 {n} 项，最多 {max} 项", label(field)),
            R::StartsAtOne { field } => format!("{}从 1 开始", label(field)),
            R::PageOutOfRange { page } => format!("页码 {page} 超出范围"),
            R::Length { field, min, max } => {
                format!("{}须为 {min} 到 {max} 个字符", label(field))
            }
            R::Unknown { field, .. } => format!("{}的取值无效", label(field)),
            R::AssetNamedTwice => "同一资产不能重复选择".into(),
            R::PurchaseNamesAssets => "采购申请只填写分类和数量，不能指定具体资产".into(),
            R::AlreadyYours { asset } => format!("{}已属于本单位，无需调剂", asset.zh()),
            R::TransferOneUnit => "一份调剂申请只能向一个单位申请，请按单位分别提交".into(),
            R::NotEligible { asset, state, rule } => format!(
                "{}当前为「{}」，{}",
                asset.zh(),
                word_zh(state),
                rule.zh()
            ),
            R::EpcMismatch { .. } => "写入的标签编码与分配的编码不一致，请重新写入".into(),
            R::SeenBackwards { .. } => "最后读到的时间早于首次读到的时间".into(),
            R::UnknownReader { .. } => "上报的读写器尚未登记".into(),
            R::NoScanFits {
                scanned,
                request_id,
            } => format!(
                "扫描到的 {scanned} 个标签都不属于{}",
                request_zh(*request_id)
            ),
            R::NoneOfIntake => "扫描到的资产都不属于本次交回".into(),
            R::NoAssetsToFulfil => "请选择用于配发的资产".into(),
            R::WrongCategory { asset } => format!("{}不属于申请的分类", asset.zh()),
            R::TotalTooLarge => "单价乘以数量超出可记录的金额".into(),
            R::SumTooLarge { field } => format!("{}合计超出可记录的金额", label(field)),
            R::NoItemsReturned => "请至少登记一件归还的资产".into(),
            R::TagNotRegistered { .. } => "该电子标签未登记在册".into(),
            R::EpcOrAssetId { .. } => "请填写电子标签或选择资产".into(),
            R::NotOnLoan {
                asset, request_id, ..
            } => format!(
                "{}不在借用申请（编号 {request_id}）的借出资产中",
                asset.zh()
            ),
            R::NotNetProceeds {
                hammer_fen,
                fees_fen,
                expected_fen,
                given_fen,
            } => format!(
                "上缴金额须等于成交价减拍卖费用：{} − {} = {} 元；填写的是 {} 元",
                fen_to_yuan(*hammer_fen),
                fen_to_yuan(*fees_fen),
                fen_to_yuan(*expected_fen),
                fen_to_yuan(*given_fen)
            ),
            R::CompensationNeedsReason {
                original_fen,
                given_fen,
            } => format!(
                "赔偿金额默认为原值 {} 元；填写的是 {} 元，其他金额须填写理由",
                fen_to_yuan(*original_fen),
                fen_to_yuan(*given_fen)
            ),
            R::FeesOverHammer {
                hammer_fen,
                fees_fen,
            } => format!(
                "拍卖费用 {} 元不能超过成交价 {} 元",
                fen_to_yuan(*fees_fen),
                fen_to_yuan(*hammer_fen)
            ),
            R::FeesNeedDocument { fees_fen } => format!(
                "拍卖费用 {} 元须附费用凭证：请先把凭证上传到本申请，再选择它",
                fen_to_yuan(*fees_fen)
            ),
            R::NotRequestDocument {
                document_id,
                request_id,
                ..
            } => format!(
                "附件（编号 {document_id}）不是{}的附件",
                request_zh(*request_id)
            ),
            R::LostNotRepairable => "丢失的资产不能选择维修".into(),
            R::RegionParent { level, parent } => {
                let zh = |l: &str| {
                    crate::register::RegionLevel::parse(l).map_or(l.to_owned(), |l| l.zh().to_owned())
                };
                match parent {
                    Some(p) => format!("{}级区域须隶属于{}级区域", zh(level), zh(p)),
                    None => format!("{}级区域是最高一级，不能有上级区域", zh(level)),
                }
            }
            R::OwedAmount { owed_fen } => {
                format!("应赔偿 {} 元，请确认该金额", fen_to_yuan(*owed_fen))
            }
            R::ShortDelivery { bought, arrived } => {
                format!("采购 {bought} 件，实到 {arrived} 件；如确认短缺入库，请勾选“接受短缺”")
            }
            R::AssetNumberCount { given, items } => {
                format!("填写了 {given} 个资产编号，但实收 {items} 件")
            }
            R::LocationElsewhere { .. } => "所选货位不在所选仓库中".into(),
            R::NoSuchLine { stocktake_id, .. } => {
                format!("盘点（编号 {stocktake_id}）中没有这一条记录")
            }
            R::ActionNotForLine { action, outcome } => format!(
                "「{}」的记录不能选择「{}」",
                word_zh(outcome),
                word_zh(action)
            ),
            R::CommissionNotPending { .. } => "这次标签写入已不在待写入状态".into(),
            R::EpcBound { asset, .. } => format!("该电子标签已绑定{}", asset.zh()),
            R::HeadNotExported { .. } => "事件日志校验未通过，不能导出链头".into(),
            R::NothingToRekey => "事件链已能用此密钥校验通过，无需重新签名".into(),
            R::UnkeyedChainBroken { .. } => {
                "未签名的事件链在此处已断裂，请先在备份上校验日志并查明原因，再行签名".into()
            }
            R::UnkeyedChainTruncated => {
                "未签名的事件链与记录的链头不符（末尾的记录已被删除）".into()
            }
            R::BackupExists { .. } => "备份文件已存在，请另选一个新文件".into(),
            R::AlreadyInitialised => "系统已初始化：管理员账号已存在".into(),
            R::WarehouseStockNotListed => "仓库在库资产不挂出；由各单位挂出其持有的闲置资产".into(),
            R::AskedFor { request_id, asset } => format!(
                "{}正在申请{}，须先办结该申请",
                request_zh(*request_id),
                asset.zh()
            ),
            R::HeldByLossCase { request_id, asset } => format!(
                "{}在损失处理申请（编号 {request_id}）中，须先办结该申请",
                asset.zh()
            ),
            R::StocktakeClosed { id } => format!("盘点（编号 {id}）已结束"),
            R::RelocateNeedsLocation => "本次盘点覆盖整个仓库，更正货位需要按单个货位盘点".into(),
            R::HeldByUnit { asset } => {
                format!(
                    "{}由单位持有，请通过申请交回，不能在盘点中更正",
                    asset.zh()
                )
            }
            R::AlarmAcknowledged { .. } => "该报警已确认".into(),
            R::SeedTaken { .. } => "该种子的模拟用户已存在，请换一个种子".into(),
            R::SimulationNeedsUnits => "模拟至少需要两个单位".into(),
            R::NoUnit => "您的账号未绑定单位".into(),
            R::OwnUnitOnly => "单位资产管理员只能为本单位提交申请".into(),
            R::FiledBy { kind, keepers_too } => format!(
                "{}申请由{}{}提交",
                word_zh(kind),
                word_zh("unit_staff"),
                if *keepers_too {
                    format!("或{}", word_zh("keeper"))
                } else {
                    String::new()
                }
            ),
            R::KeeperReports { asset } => {
                format!(
                    "{}是仓库在库资产，应由{}报告",
                    asset.zh(),
                    word_zh("keeper")
                )
            }
            R::PeopleOnly => "只有人员才能办理申请步骤".into(),
            R::ApplicantOnly { request_id } => {
                format!("只有申请人才能撤回{}", request_zh(*request_id))
            }
            R::OtherUnitsRequest { request_id } => {
                format!("{}属于其他单位", request_zh(*request_id))
            }
            R::TooManyStreams { limit } => {
                format!("同时打开的实时页面过多（本次登录最多 {limit} 个），请关闭其他标签页")
            }
            R::LiveNeedsSession => "实时页面需要先登录".into(),
            R::Timeout { limit_secs } => {
                format!("服务器处理超时（超过 {limit_secs} 秒），请稍后重试")
            }
            R::DatabaseBusy { waited_secs } => {
                format!("数据库连接全部繁忙（已等待 {waited_secs} 秒），请稍后重试")
            }
            R::SideApproved { side } => {
                let side = if side == "giving" { "调出方" } else { "调入方" };
                format!("{side}地区已审批同意本次跨地区调剂，正在等待另一方地区审批")
            }
            R::LinesAndShorthand => "请按行填写申请明细，或只填一个分类和数量，不能两者同时填写".into(),
            R::NotForKind { .. } => "这类申请不填写此项".into(),
            R::NoSuchRequestLine { request_id, line_no, .. } => {
                format!("申请（编号 {request_id}）没有第 {line_no} 行")
            }
            R::KitIncomplete { kit, missing } => format!(
                "套装「{kit}」须整套出入库，未扫到：{}",
                missing.iter().map(|a| a.zh()).collect::<Vec<_>>().join("、")
            ),
            R::InOtherKit { asset, kit } => format!("{}已属于套装「{kit}」", asset.zh()),
            R::KitInUse { kit, request_id } => format!(
                "套装「{kit}」正被{}占用，该申请办结后才能拆分",
                request_zh(*request_id)
            ),
            R::KitsLoanOnly { .. } => "只有借用和调配申请可以选择套装".into(),
            R::RentalEndsBeforeStart => "租用结束日期早于开始日期".into(),
            R::TagInUse { epc, by, .. } => format!(
                "临时标签 {epc} 已被{}使用",
                if by == "asset" { "台账中的资产" } else { "尚未退还供应商的租用物品" }
            ),
            R::RentalForLoans { request_id, .. } => format!(
                "{}不是借用申请；租用只能服务于借用（活动）",
                request_zh(*request_id)
            ),
            R::NotThisRental { epc, status: None, .. } => {
                format!("标签 {epc} 不是本租用合同的物品")
            }
            R::NotThisRental { epc, status: Some(s), .. } => format!(
                "标签 {epc} 的租用物品当前为「{}」，不能这样出入库",
                match s.as_str() {
                    "received" => "在库待用",
                    "out" => "随活动借出",
                    "back" => "已归还仓库",
                    _ => "已退还供应商",
                }
            ),
            R::RentalClosed { rental_id } => {
                format!("租用合同（编号 {rental_id}）的物品已退还供应商")
            }
            R::RentalItemsOut { rental_id, items } => format!(
                "租用合同（编号 {rental_id}）仍有物品随活动借出未还：{}",
                items.join("、")
            ),
            R::PeriodBackwards { from, to } => {
                format!("截止日期（{to}）早于起始日期（{from}），请改为不早于起始日期的日期")
            }
            R::BadPeriod { field, value } => format!(
                "{}「{value}」不是有效的期间：起止日期写作 2025-07-01，年度写作 2025，季度写作 2025Q3（第1至第4季度）",
                label(field)
            ),
            R::PeriodTwice { field } => format!(
                "{}与其他期间条件重复：年度、季度、起止日期只能选一种",
                label(field)
            ),
            R::NotASpreadsheet { file, .. } => format!(
                "文件「{file}」不是可读取的电子表格，请上传电子表格工作簿（XLSX、XLS、ODS）或 CSV 文本文件"
            ),
            R::ImportProblems { problems } => format!(
                "台账有 {problems} 处问题，未导入任何资产；请先试运行查看每一处问题（行号、列名）并改正"
            ),
            R::RequiredForSource { field, source } => format!(
                "取得方式为「{}」时须填写{}",
                crate::i18n::t(crate::i18n::Lang::Zh, &format!("src_{source}")),
                label(field)
            ),
            R::NotForSource { field, source } => format!(
                "取得方式为「{}」时不填写{}",
                crate::i18n::t(crate::i18n::Lang::Zh, &format!("src_{source}")),
                label(field)
            ),
            R::AfterToday { field, today } => {
                format!("{}不能晚于今天（{today}）", label(field))
            }
            R::FindingClosed { finding_id, .. } => {
                format!("闲置发现（编号 {finding_id}）已经办结")
            }
            R::AnswerNotFor { finding_id, .. } => format!(
                "闲置发现（编号 {finding_id}）涉及的资产不由本单位持有，不能挂出或交回，请填写说明"
            ),
            R::NotReclaimable { finding_id, .. } => {
                format!("闲置发现（编号 {finding_id}）涉及的资产不由单位持有，无需收回")
            }
            R::ReadOnlyRole { .. } => "审计/纪检账号只能查看，不能修改任何内容".into(),
            R::TrailSubject => "请指定一项资产或一个单位（二者选一）".into(),
            R::WarehouseOrUnit => "请选择仓库（仓库盘点）或单位（单位巡检），二者选其一".into(),
            R::NotAnInspection { id } => {
                format!("盘点（编号 {id}）是仓库盘点，只有单位巡检需要单位确认")
            }
            R::InspectionOpen { id } => {
                format!("巡检（编号 {id}）尚未结束，仓管员结束巡检后单位才能确认")
            }
            R::InspectionConfirmed { id, .. } => format!("巡检（编号 {id}）已经确认过"),
            R::NeedsStandardApproval { request_id } => format!(
                "申请（编号 {request_id}）超出配置标准，须先经局长额外审批，才能继续办理"
            ),
            R::NotAgencyHead => "超标准申请的额外审批只能由局长（设为局长的审批人）办理".into(),
            R::WithinStandard { request_id } => {
                format!("申请（编号 {request_id}）没有待额外审批的超标准内容")
            }
            R::StandardOneLimit => "每单位限额与每人限额只能填写一项".into(),
            R::Internal(_) => "服务器内部错误，详情见服务器日志".into(),
            R::UnknownAssetNumber { value, .. } => {
                format!("资产编号「{value}」不在资产台账中，请核对标签上印的编号")
            }
            R::AssetUntagged { asset_number, .. } => {
                format!("资产 {asset_number} 还没有写标签，请先在资产页面写标签")
            }
            R::LineNowFound {
                stocktake_id,
                asset_number,
            } => format!(
                "资产 {asset_number} 在盘点（编号 {stocktake_id}）中已经盘到，不能报失；差异列表已更新"
            ),
            R::TagNotAtDesk { .. } => {
                "出库台读写器还没有读到这张标签：请把写好的标签放到出库台读写器上，或输入读回的编码"
                    .into()
            }
            R::NoSuchCode { field, value } => {
                format!("没有{}为“{value}”的记录，请核对后重新填写", label(field))
            }
            R::AmbiguousCode {
                field,
                value,
                places,
            } => format!(
                "{}“{value}”在多个仓库中都有（{}），请连同仓库名称填写，例如“{}”",
                label(field),
                places.join("、"),
                places.first().map(String::as_str).unwrap_or_default()
            ),
            R::BeforeToday { field, today } => {
                format!("{}不能早于今天（{today}）", label(field))
            }
            R::Several { problems } => format!(
                "有 {} 处需要修改：{}",
                problems.len(),
                problems
                    .iter()
                    .map(|p| p.reason.zh())
                    .collect::<Vec<_>>()
                    .join("；")
            ),
            R::ShortOfStock {
                request_id,
                category,
                asked,
                in_stock,
                ..
            } => format!(
                "{}需要{category} {asked} 件，在库仅 {in_stock} 件，库存不足；\
                 待到货入库后再批准",
                request_zh(*request_id)
            ),
            R::ContractNumberUsed {
                contract_number,
                batch_id,
            } => format!(
                "合同号“{contract_number}”已用于另一次采购（采购批次 {batch_id}）；\
                 一个合同只对应一次采购，几项申请同一合同请用集中采购一次录入"
            ),
            R::NoPriceLine { request_id } => {
                format!("没有填写{}的单价", request_zh(*request_id))
            }
            R::PriceLineNotAsked { request_id } => {
                format!("{}不在本次集中采购的申请中，不能填写其单价", request_zh(*request_id))
            }
            R::RequestNamedTwice { request_id } => {
                format!("{}在本次采购中出现了两次", request_zh(*request_id))
            }
            R::KeeperBuysForStock => {
                "仓管员只能为仓库库存申请采购（采购去向为入库）；单位的采购由本单位资产管理员申请"
                    .into()
            }
            R::DestinationPurchaseOnly { .. } => "只有采购申请才填写采购去向".into(),
            R::Overbooked {
                request_id,
                shortages,
            } => format!(
                "{}档期冲突：{}",
                request_zh(*request_id),
                shortages
                    .iter()
                    .map(|s| format!(
                        "{}需要 {} 件，{} 至 {} 期间最少仅余 {} 件，缺 {} 件",
                        s.category, s.asked, s.first_short, s.last_short, s.free, s.short
                    ))
                    .collect::<Vec<_>>()
                    .join("；")
            ),
            R::DueNotLater { due } => format!("续借的归还日期须晚于当前归还日期（{due}）"),
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
    /// Seconds to wait before retrying, for a throttled request.
    pub fn retry_after_secs(&self) -> Option<u64> {
        match *self.reason {
            Reason::LoginThrottled { retry_after_secs } => Some(retry_after_secs),
            _ => None,
        }
    }

    /// Blames `field` instead of the reason's own field (a nested form
    /// field such as `items[2].epc`, or the list an id came from).
    pub fn with_field(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into());
        self
    }

    /// One error for several checks: none is `Ok`; one is itself; more
    /// become [`Reason::Several`] (422), each problem under its own field.
    /// An error that is not about a value sent (403, 404, 409…) is not
    /// mixed with field problems: the first such one is returned alone.
    pub fn collect(errors: Vec<AppError>) -> AppResult<()> {
        if let Some(e) = errors.iter().find(|e| e.kind != ErrorKind::Invalid) {
            return Err(e.clone());
        }
        let mut problems: Vec<FieldProblem> = Vec::new();
        let mut unnamed = Vec::new();
        for e in errors {
            let named: Vec<FieldProblem> = e
                .field_problems()
                .into_iter()
                .map(|(field, reason)| FieldProblem {
                    field: field.to_owned(),
                    reason: reason.clone(),
                })
                .collect();
            if named.is_empty() {
                unnamed.push(e);
            }
            problems.extend(named);
        }
        match (unnamed.into_iter().next(), problems.len()) {
            (Some(e), _) => Err(e),
            (None, 0) => Ok(()),
            (None, 1) => {
                let p = problems.remove(0);
                Err(AppError::from(p.reason).with_field(p.field))
            }
            (None, _) => Err(Reason::Several { problems }.into()),
        }
    }

    /// Each field blamed and why: every problem of [`Reason::Several`],
    /// else this error's own field (if it names one).
    pub fn field_problems(&self) -> Vec<(&str, &Reason)> {
        match (&*self.reason, &self.field) {
            (Reason::Several { problems }, _) => problems
                .iter()
                .map(|p| (p.field.as_str(), &p.reason))
                .collect(),
            (r, Some(f)) => vec![(f.as_str(), r)],
            (_, None) => Vec::new(),
        }
    }

    /// A 400 for a reason that is otherwise a 422: the value sits in the
    /// path or the raw body, not in a form field.
    pub fn bad_request(reason: Reason) -> Self {
        Self {
            kind: ErrorKind::BadRequest,
            code: "bad_request",
            reason: Box::new(reason),
            field: None,
        }
    }

    pub fn not_found(what: &'static str, id: impl fmt::Display) -> Self {
        Reason::NotFound {
            what,
            id: id.to_string(),
        }
        .into()
    }

    /// Our fault: `detail` is logged, people see a general sentence.
    pub fn internal(detail: impl Into<String>) -> Self {
        Reason::Internal(detail.into()).into()
    }

    /// The English message with every detail (for logs and the API).
    pub fn message(&self) -> String {
        self.reason.en()
    }

    /// What a person is shown: internal details stay in the log.
    pub fn text(&self, lang: Lang) -> String {
        match (self.kind, lang) {
            (ErrorKind::Internal, Lang::En) => INTERNAL_EN.into(),
            (_, Lang::En) => self.reason.en(),
            (_, Lang::Zh) => self.reason.zh(),
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
            R::LoginThrottled {
                retry_after_secs: 30,
            },
            R::CrossSite,
            R::FormTokenMissing,
            R::WrongOldPassword,
            R::NotAllowed {
                actor: f("user:alice"),
                action: f("ViewReports"),
                roles: vec![f("keeper"), f("approver")],
            },
            R::RoleMayNot {
                asset: AssetRef::new(7, "ZC-2024-007"),
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
                asset: AssetRef::new(7, "ZC-2024-007"),
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
                asset: AssetRef::new(7, "ZC-2024-007"),
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
            R::Internal(f("database error: disk I/O")),
            R::UnknownAssetNumber {
                field: f("asset_number"),
                value: f("A-404"),
            },
            R::AssetUntagged {
                field: f("asset_number"),
                asset_id: 7,
                asset_number: f("20240001"),
            },
            R::LineNowFound {
                stocktake_id: 3,
                asset_number: f("1003"),
            },
            R::TagNotAtDesk { epc: f("3034ff") },
            R::TooMany {
                field: f("asset_ids"),
                max: 5000,
                given: None,
            },
            R::StartsAtOne { field: f("page") },
            R::PageOutOfRange { page: 1 << 60 },
            R::Length {
                field: f("daemon_id"),
                min: 1,
                max: 100,
            },
            R::Unknown {
                field: f("stage"),
                value: f("nowhere"),
            },
            R::AssetNamedTwice,
            R::PurchaseNamesAssets,
            R::AlreadyYours {
                asset: AssetRef::new(7, "ZC-2024-007"),
            },
            R::TransferOneUnit,
            R::NotEligible {
                asset: AssetRef::new(7, "ZC-2024-007"),
                state: f("allocated"),
                rule: Eligibility::InStockOnly,
            },
            R::EpcMismatch {
                written: f("3034aa"),
                allocated: f("3034bb"),
            },
            R::SeenBackwards {
                field: f("observations[0].last_seen"),
            },
            R::UnknownReader { name: f("gate-9") },
            R::NoScanFits {
                scanned: 4,
                request_id: 3,
            },
            R::NoneOfIntake,
            R::NoAssetsToFulfil,
            R::WrongCategory {
                asset: AssetRef::new(7, "ZC-2024-007"),
            },
            R::TotalTooLarge,
            R::SumTooLarge {
                field: f("value_fen"),
            },
            R::NoItemsReturned,
            R::TagNotRegistered {
                field: f("items[0]"),
                epc: f("3034ff"),
            },
            R::EpcOrAssetId {
                field: f("items[1]"),
            },
            R::NotOnLoan {
                field: f("items[0]"),
                asset: AssetRef::new(7, "ZC-2024-007"),
                request_id: 3,
            },
            R::NotNetProceeds {
                hammer_fen: 150_000,
                fees_fen: 5_000,
                expected_fen: 145_000,
                given_fen: 150_000,
            },
            R::LostNotRepairable,
            R::RegionParent {
                level: f("county"),
                parent: Some(f("city")),
            },
            R::OwedAmount { owed_fen: 32_000 },
            R::ShortDelivery {
                bought: 5,
                arrived: 3,
            },
            R::AssetNumberCount { given: 2, items: 3 },
            R::LocationElsewhere {
                location_id: 4,
                warehouse_id: 2,
            },
            R::NoSuchLine {
                field: f("epc"),
                stocktake_id: 5,
            },
            R::ActionNotForLine {
                action: f("relocate"),
                outcome: f("missing"),
            },
            R::CommissionNotPending {
                commission_id: 9,
                status: f("written"),
            },
            R::EpcBound {
                epc: f("3034ff"),
                asset: AssetRef::new(8, "ZC-2024-008"),
            },
            R::HeadNotExported {
                problem: f("event 4: hash mismatch"),
            },
            R::NothingToRekey,
            R::UnkeyedChainBroken {
                at: f("event 4 (asset 7, registered)"),
            },
            R::UnkeyedChainTruncated,
            R::BackupExists {
                path: f("/var/backups/warehouse.db"),
            },
            R::AlreadyInitialised,
            R::WarehouseStockNotListed,
            R::AskedFor {
                request_id: 3,
                asset: AssetRef::new(7, "ZC-2024-007"),
            },
            R::HeldByLossCase {
                request_id: 3,
                asset: AssetRef::new(7, "ZC-2024-007"),
            },
            R::StocktakeClosed { id: 5 },
            R::RelocateNeedsLocation,
            R::HeldByUnit {
                asset: AssetRef::new(7, "ZC-2024-007"),
            },
            R::AlarmAcknowledged { id: 2 },
            R::SeedTaken { seed: f("s42") },
            R::SimulationNeedsUnits,
            R::NoUnit,
            R::OwnUnitOnly,
            R::FiledBy {
                kind: f("disposal"),
                keepers_too: true,
            },
            R::KeeperReports {
                asset: AssetRef::new(7, "ZC-2024-007"),
            },
            R::PeopleOnly,
            R::ApplicantOnly { request_id: 3 },
            R::OtherUnitsRequest { request_id: 3 },
            R::TooManyStreams { limit: 4 },
            R::LiveNeedsSession,
            R::Timeout { limit_secs: 30 },
            R::DatabaseBusy { waited_secs: 30 },
            R::SideApproved { side: f("giving") },
            R::CompensationNeedsReason {
                original_fen: 150_000,
                given_fen: 90_000,
            },
            R::FeesOverHammer {
                hammer_fen: 26_500,
                fees_fen: 30_000,
            },
            R::FeesNeedDocument { fees_fen: 1_500 },
            R::NotRequestDocument {
                field: f("fees_document_id"),
                document_id: 9,
                request_id: 3,
            },
            R::LinesAndShorthand,
            R::NotForKind {
                field: f("event"),
                kind: f("purchase"),
            },
            R::NoSuchRequestLine {
                field: f("line_prices[0].line_no"),
                request_id: 3,
                line_no: 4,
            },
            R::KitIncomplete {
                kit: f("KIT-01"),
                missing: vec![AssetRef::new(7, "ZC-2024-007")],
            },
            R::InOtherKit {
                asset: AssetRef::new(7, "ZC-2024-007"),
                kit: f("KIT-01"),
            },
            R::KitInUse {
                kit: f("KIT-01"),
                request_id: 3,
            },
            R::KitsLoanOnly {
                kind: f("disposal"),
            },
            R::RentalEndsBeforeStart,
            R::TagInUse {
                field: f("items[0].epc"),
                epc: f("E2801170000002AB12345678"),
                by: f("asset"),
            },
            R::RentalForLoans {
                request_id: 3,
                kind: f("purchase"),
            },
            R::NotThisRental {
                field: f("epcs[0]"),
                epc: f("E2801170000002AB12345678"),
                status: Some(f("out")),
            },
            R::RentalClosed { rental_id: 2 },
            R::RentalItemsOut {
                rental_id: 2,
                items: vec![f("CHAIR (E2801170000002AB12345678)")],
            },
            R::PeriodBackwards {
                from: f("2025-07-01"),
                to: f("2025-06-30"),
            },
            R::BadPeriod {
                field: f("quarter"),
                value: f("2025Q5"),
            },
            R::PeriodTwice { field: f("year") },
            R::NotASpreadsheet {
                file: f("A01.PDF"),
                detail: f("no zip or text"),
            },
            R::ImportProblems { problems: 17 },
            R::RequiredForSource {
                field: f("donor"),
                source: f("donation"),
            },
            R::NotForSource {
                field: f("donor"),
                source: f("transfer_in"),
            },
            R::AfterToday {
                field: f("received_on"),
                today: f("2026-12-01"),
            },
            R::FindingClosed {
                finding_id: 3,
                outcome: f("explained"),
            },
            R::AnswerNotFor {
                finding_id: 3,
                answer: f("list"),
                rule: f("overdue_loan"),
            },
            R::NotReclaimable {
                finding_id: 3,
                rule: f("unseen_stock"),
            },
            R::ReadOnlyRole {
                actor: f("user:audit"),
            },
            R::TrailSubject,
            R::WarehouseOrUnit,
            R::NotAnInspection { id: 5 },
            R::InspectionOpen { id: 5 },
            R::InspectionConfirmed {
                id: 5,
                by: f("user:staff"),
            },
            R::NeedsStandardApproval { request_id: 3 },
            R::NotAgencyHead,
            R::WithinStandard { request_id: 3 },
            R::StandardOneLimit,
            R::ForeignDaemon {
                own: f("edge-1"),
                claimed: f("edge-2"),
            },
            R::ReaderNotBound {
                field: f("observations[0].reader"),
                reader: f("gate-1"),
                daemon: f("hand-1"),
                readers: vec![f("hand-1")],
            },
            R::BadDaemonId { value: f("a:b") },
            R::NoReaders,
            R::ReaderTwice {
                field: f("readers[1].name"),
                name: f("gate-1"),
            },
            R::BadReaderSpec { value: f("gate-1") },
            R::NoSuchCode {
                field: f("asset_numbers"),
                value: f("9999"),
            },
            R::AmbiguousCode {
                field: f("location_code"),
                value: f("A01"),
                places: vec![f("WH1 A01"), f("WH2 A01")],
            },
            R::BeforeToday {
                field: f("loan_start"),
                today: f("2026-12-01"),
            },
            R::Several {
                problems: vec![
                    FieldProblem {
                        field: f("category_id"),
                        reason: R::Required {
                            field: f("category_id"),
                        },
                    },
                    FieldProblem {
                        field: f("loan_start"),
                        reason: R::BadDate {
                            field: f("loan_start"),
                            value: f("tomorrow"),
                        },
                    },
                ],
            },
            R::ShortOfStock {
                request_id: 3,
                category_id: 5,
                category: f("椅子"),
                asked: 9999,
                in_stock: 44,
            },
            R::ContractNumberUsed {
                contract_number: f("ZC-2026-017"),
                batch_id: 4,
            },
            R::NoPriceLine { request_id: 3 },
            R::PriceLineNotAsked { request_id: 3 },
            R::RequestNamedTwice { request_id: 3 },
            R::KeeperBuysForStock,
            R::DestinationPurchaseOnly { kind: f("loan") },
            R::Overbooked {
                request_id: 4,
                shortages: vec![CategoryShortage {
                    category_id: 5,
                    category: f("椅子"),
                    asked: 120,
                    free: 80,
                    short: 40,
                    first_short: f("2026-12-02"),
                    last_short: f("2026-12-03"),
                    days_short: 2,
                }],
            },
            R::DueNotLater {
                due: f("2026-12-03"),
            },
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
            R::Internal(_) => 46,
            R::BadUsername => 47,
            R::UnitRequired => 48,
            R::BadAssetNumber { .. } => 49,
            R::OneHolder => 50,
            R::DoesNotExist { .. } => 51,
            R::TooMany { .. } => 52,
            R::StartsAtOne { .. } => 53,
            R::PageOutOfRange { .. } => 54,
            R::Length { .. } => 55,
            R::Unknown { .. } => 56,
            R::AssetNamedTwice => 57,
            R::PurchaseNamesAssets => 58,
            R::AlreadyYours { .. } => 59,
            R::TransferOneUnit => 60,
            R::NotEligible { .. } => 61,
            R::EpcMismatch { .. } => 62,
            R::SeenBackwards { .. } => 63,
            R::UnknownReader { .. } => 64,
            R::NoScanFits { .. } => 65,
            R::NoneOfIntake => 66,
            R::NoAssetsToFulfil => 67,
            R::WrongCategory { .. } => 68,
            R::TotalTooLarge => 69,
            R::NoItemsReturned => 70,
            R::TagNotRegistered { .. } => 71,
            R::EpcOrAssetId { .. } => 72,
            R::NotOnLoan { .. } => 73,
            R::NotNetProceeds { .. } => 74,
            R::LostNotRepairable => 75,
            R::OwedAmount { .. } => 76,
            R::ShortDelivery { .. } => 77,
            R::AssetNumberCount { .. } => 78,
            R::LocationElsewhere { .. } => 79,
            R::NoSuchLine { .. } => 80,
            R::ActionNotForLine { .. } => 81,
            R::CommissionNotPending { .. } => 82,
            R::EpcBound { .. } => 83,
            R::HeadNotExported { .. } => 84,
            R::NothingToRekey => 85,
            R::UnkeyedChainBroken { .. } => 86,
            R::UnkeyedChainTruncated => 87,
            R::BackupExists { .. } => 88,
            R::AlreadyInitialised => 89,
            R::WarehouseStockNotListed => 90,
            R::AskedFor { .. } => 91,
            R::HeldByLossCase { .. } => 92,
            R::StocktakeClosed { .. } => 93,
            R::RelocateNeedsLocation => 94,
            R::HeldByUnit { .. } => 95,
            R::AlarmAcknowledged { .. } => 96,
            R::SeedTaken { .. } => 97,
            R::SimulationNeedsUnits => 98,
            R::NoUnit => 99,
            R::OwnUnitOnly => 100,
            R::FiledBy { .. } => 101,
            R::KeeperReports { .. } => 102,
            R::PeopleOnly => 103,
            R::ApplicantOnly { .. } => 104,
            R::OtherUnitsRequest { .. } => 105,
            R::TooManyStreams { .. } => 106,
            R::LiveNeedsSession => 107,
            R::Timeout { .. } => 108,
            R::ForeignDaemon { .. } => 109,
            R::ReaderNotBound { .. } => 110,
            R::BadDaemonId { .. } => 111,
            R::NoReaders => 112,
            R::ReaderTwice { .. } => 113,
            R::BadReaderSpec { .. } => 114,
            R::LoginThrottled { .. } => 115,
            R::CrossSite => 116,
            R::FormTokenMissing => 117,
            R::WrongOldPassword => 118,
            R::MethodNotAllowed => 119,
            R::SumTooLarge { .. } => 120,
            R::UnknownAssetNumber { .. } => 121,
            R::AssetUntagged { .. } => 122,
            R::LineNowFound { .. } => 123,
            R::TagNotAtDesk { .. } => 124,
            R::NoSuchCode { .. } => 125,
            R::AmbiguousCode { .. } => 126,
            R::BeforeToday { .. } => 127,
            R::Several { .. } => 128,
            R::ShortOfStock { .. } => 129,
            R::RegionParent { .. } => 130,
            R::DatabaseBusy { .. } => 131,
            R::SideApproved { .. } => 132,
            R::CompensationNeedsReason { .. } => 133,
            R::FeesOverHammer { .. } => 134,
            R::FeesNeedDocument { .. } => 135,
            R::NotRequestDocument { .. } => 136,
            R::LinesAndShorthand => 137,
            R::NotForKind { .. } => 138,
            R::NoSuchRequestLine { .. } => 139,
            R::ContractNumberUsed { .. } => 140,
            R::NoPriceLine { .. } => 141,
            R::PriceLineNotAsked { .. } => 142,
            R::RequestNamedTwice { .. } => 143,
            R::KeeperBuysForStock => 144,
            R::DestinationPurchaseOnly { .. } => 145,
            R::Overbooked { .. } => 146,
            R::DueNotLater { .. } => 147,
            R::KitIncomplete { .. } => 148,
            R::InOtherKit { .. } => 149,
            R::KitInUse { .. } => 150,
            R::KitsLoanOnly { .. } => 151,
            R::RentalEndsBeforeStart => 152,
            R::TagInUse { .. } => 153,
            R::RentalForLoans { .. } => 154,
            R::NotThisRental { .. } => 155,
            R::RentalClosed { .. } => 156,
            R::RentalItemsOut { .. } => 157,
            R::PeriodBackwards { .. } => 158,
            R::BadPeriod { .. } => 159,
            R::PeriodTwice { .. } => 160,
            R::NotASpreadsheet { .. } => 161,
            R::ImportProblems { .. } => 162,
            R::RequiredForSource { .. } => 163,
            R::NotForSource { .. } => 164,
            R::AfterToday { .. } => 165,
            R::FindingClosed { .. } => 166,
            R::AnswerNotFor { .. } => 167,
            R::NotReclaimable { .. } => 168,
            R::ReadOnlyRole { .. } => 169,
            R::TrailSubject => 170,
            R::WarehouseOrUnit => 171,
            R::NotAnInspection { .. } => 172,
            R::InspectionOpen { .. } => 173,
            R::InspectionConfirmed { .. } => 174,
            R::NeedsStandardApproval { .. } => 175,
            R::NotAgencyHead => 176,
            R::WithinStandard { .. } => 177,
            R::StandardOneLimit => 178,
        }
    }
    const VARIANTS: usize = 179;

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
            let words = english_words(&zh);
            assert!(words.is_empty(), "{r:?}: `{zh}` has English {words:?}");
        }
    }

    #[test]
    fn assets_are_named_by_their_number_never_their_id() {
        for r in samples() {
            if !format!("{r:?}").contains("AssetRef") {
                continue;
            }
            let (zh, en) = (r.zh(), r.en());
            assert!(zh.contains("ZC-2024-00"), "{r:?}: `{zh}` lacks the number");
            assert!(
                !zh.contains(" 7 ") && !zh.contains(" 8 ") && !zh.contains("id"),
                "{r:?}: `{zh}` shows the id"
            );
            // The API names both: the number people read, the id it was sent.
            assert!(
                en.contains("ZC-2024-00") && en.contains("(id "),
                "{r:?}: `{en}`"
            );
        }
        let gone = Reason::NotOnLoan {
            field: "items[0]".into(),
            asset: AssetRef {
                id: 99,
                number: None,
            },
            request_id: 4,
        };
        assert_eq!(gone.zh(), "该资产不在借用申请（编号 4）的借出资产中");
        assert_eq!(gone.en(), "asset 99 is not out on loan 4");
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
    fn several_problems_are_kept_each_under_its_field() {
        let e = |field: &str| -> AppError {
            Reason::Required {
                field: field.into(),
            }
            .into()
        };
        assert!(AppError::collect(Vec::new()).is_ok());
        let one = AppError::collect(vec![e("reason")]).err();
        assert_eq!(one.and_then(|e| e.field).as_deref(), Some("reason"));
        let Err(both) = AppError::collect(vec![e("category_id"), e("loan_start")]) else {
            panic!("two problems collected into none");
        };
        assert_eq!(both.code, "invalid");
        let fields: Vec<&str> = both.field_problems().iter().map(|p| p.0).collect();
        assert_eq!(fields, ["category_id", "loan_start"]);
        assert_eq!(
            both.text(Lang::Zh),
            "有 2 处需要修改：请填写分类；请填写借用开始日期"
        );
        // A refusal is not a field problem: it stands alone.
        let refused = AppError::collect(vec![e("reason"), Reason::NoUnit.into()]).err();
        assert_eq!(refused.map(|e| e.code), Some("forbidden"));
    }

    #[test]
    fn refusals_name_the_roles_that_may() {
        let e = AppError::from(Reason::NotAllowed {
            actor: "user:unit".into(),
            action: "ViewReports".into(),
            roles: vec!["keeper".into(), "approver".into()],
        });
        assert_eq!(e.text(Lang::Zh), "查看报表需要仓管员或审批人的权限");
        assert!(e.message().contains("keeper or approver"));
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
    fn step_errors_name_states_and_roles_in_chinese() {
        let zh = |r: Reason| AppError::from(r).text(Lang::Zh);
        assert_eq!(
            zh(Reason::NotEligible {
                asset: AssetRef::new(7, "ZC-2024-007"),
                state: "allocated".into(),
                rule: Eligibility::InStockOnly,
            }),
            "资产 ZC-2024-007 当前为「已调配」，只能申请在库的资产"
        );
        assert_eq!(
            zh(Reason::FiledBy {
                kind: "loan".into(),
                keepers_too: false,
            }),
            "借用申请由单位资产管理员提交"
        );
        assert_eq!(
            zh(Reason::OwedAmount { owed_fen: 32_000 }),
            "应赔偿 320.00 元，请确认该金额"
        );
        assert_eq!(
            zh(Reason::Unknown {
                field: "stage".into(),
                value: "nowhere".into(),
            }),
            "阶段的取值无效"
        );
    }
}
