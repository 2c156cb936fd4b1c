//! Requests and their approval chains (申请与审批): purchase, allocation,
//! loan, virtual-warehouse transfer, intake, disposal, damage and loss.
//!
//! [`step`] is the one table saying, for each kind of request, which stage
//! it is at, who acts there, and where each action leads. The store
//! (`store::workflow`) runs the step's effects on assets through the asset
//! state machine ([`crate::lifecycle`]) in the same transaction.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::{in_range, AppError, AppResult, Reason};
use crate::input::string_enum;
use crate::input::{optional_text, parse_date};
use crate::money::amount;
use crate::policy::Role;
use crate::register::Condition;

string_enum! {
    /// What a request is for.
    RequestKind {
        /// 采购 — unit applies, approver, finance, procurement, receiving, allocation.
        Purchase = "purchase",
        /// 调配 — permanent allocation from stock.
        Allocation = "allocation",
        /// 出借 — loan from stock with a due date.
        Loan = "loan",
        /// 虚拟仓调剂 — an idle item passes from one unit to another.
        Transfer = "transfer",
        /// 交回 — a unit hands items in to the warehouse.
        Intake = "intake",
        /// 处置 — scrap, auction or transfer out.
        Disposal = "disposal",
        /// 损坏与丢失 — damage or loss and who pays.
        Damage = "damage",
    }
}

string_enum! {
    /// Where a request stands. Terminal: completed, rejected, withdrawn.
    Stage {
        /// 评估 — a disposal waits for its appraisal.
        Appraisal = "appraisal",
        /// 审批 — waits for the managing agency's approver.
        Approval = "approval",
        /// 财政审核 — waits for finance.
        Finance = "finance",
        /// 采购 — a purchase waits for the procurement record.
        Procurement = "procurement",
        /// 超预算审核 — the purchase cost more than its approved budget;
        /// finance approves the overspending (with a reason) or rejects.
        OverBudget = "over_budget",
        /// 入库 — the keeper receives goods or handed-in items.
        Receiving = "receiving",
        /// 出库 — the keeper checks items out at the desk.
        Checkout = "checkout",
        /// 签收 — the unit confirms it received the items.
        Receipt = "receipt",
        /// 借出中 — a loan's items are out; returns are scanned.
        OnLoan = "on_loan",
        /// 拍卖 — an auction's hammer price and buyer are awaited.
        Sale = "sale",
        /// 上缴 — finance confirms proceeds reached the treasury.
        Remittance = "remittance",
        /// 定责 — the approver decides the cause of damage or loss.
        Cause = "cause",
        /// 缴款 — finance confirms compensation paid or write-off.
        Payment = "payment",
        Completed = "completed",
        Rejected = "rejected",
        Withdrawn = "withdrawn",
    }
}

string_enum! {
    /// How a disposal ends.
    DisposalMethod { Scrap = "scrap", Auction = "auction", TransferOut = "transfer_out" }
}

string_enum! {
    /// Decided cause of damage or loss.
    Cause {
        /// 人为 — the responsible party repairs or compensates.
        Human = "human",
        /// 自然损耗 — written off through scrapping.
        Natural = "natural",
    }
}

string_enum! {
    /// Where a purchase's goods end (采购去向).
    Destination {
        /// 分配到单位 — received, checked out and confirmed by the requesting unit.
        Unit = "unit",
        /// 入库 — received into the warehouse's stock and left there: the
        /// agency's own stock purchase, or a unit's event purchase lent
        /// from stock afterwards.
        Warehouse = "warehouse",
    }
}

string_enum! {
    /// For human cause: repair at the party's cost, or compensation at original value.
    Remedy { Repair = "repair", Compensate = "compensate" }
}

string_enum! {
    /// The steps people take on requests.
    StepKind {
        Approve = "approve",
        Reject = "reject",
        Withdraw = "withdraw",
        Fulfil = "fulfil",
        Procure = "procure",
        Receive = "receive",
        CheckOut = "check_out",
        ConfirmReceipt = "confirm_receipt",
        ReturnItems = "return_items",
        Appraise = "appraise",
        RecordSale = "record_sale",
        ConfirmRemittance = "confirm_remittance",
        DecideCause = "decide_cause",
        ConfirmPayment = "confirm_payment",
        Extend = "extend",
        /// 超标准审批 — the agency head's extra approval of a request beyond
        /// the configuration standard.
        ApproveOverStandard = "approve_over_standard",
    }
}

/// The one overdue rule: a loan on loan (items out) past its due date
/// (`YYYY-MM-DD`, Asia/Shanghai) as of `today`. A request's `overdue`, the
/// overdue list and idle detection all ask this.
pub fn loan_overdue(stage: Stage, loan_due: Option<&str>, today: &str) -> bool {
    stage == Stage::OnLoan && loan_due.is_some_and(|d| d < today)
}

impl Stage {
    pub fn is_terminal(self) -> bool {
        matches!(self, Stage::Completed | Stage::Rejected | Stage::Withdrawn)
    }

    /// Who acts next (the inbox this request sits in).
    pub fn awaiting(self) -> Option<Role> {
        Some(match self {
            Stage::Approval | Stage::Procurement | Stage::Sale | Stage::Cause => Role::Approver,
            Stage::Finance | Stage::OverBudget | Stage::Remittance | Stage::Payment => {
                Role::Finance
            }
            Stage::Appraisal | Stage::Receiving | Stage::Checkout | Stage::OnLoan => Role::Keeper,
            Stage::Receipt => Role::UnitStaff,
            Stage::Completed | Stage::Rejected | Stage::Withdrawn => return None,
        })
    }
}

impl RequestKind {
    /// Who files a request of this kind: unit staff for their unit, and
    /// keepers the disposal and damage reports of warehouse stock and the
    /// purchases for the warehouse's own stock.
    pub fn filed_by(self) -> &'static [Role] {
        match self {
            RequestKind::Disposal | RequestKind::Damage | RequestKind::Purchase => {
                &[Role::UnitStaff, Role::Keeper]
            }
            _ => &[Role::UnitStaff],
        }
    }

    /// The refusal for someone who may not file this kind (403 naming
    /// who files it).
    pub fn not_filed_by(self) -> AppError {
        Reason::FiledBy {
            kind: self.as_str().into(),
            keepers_too: self.filed_by().contains(&Role::Keeper),
        }
        .into()
    }

    /// The stage a new request starts at.
    pub fn first_stage(self) -> Stage {
        match self {
            RequestKind::Disposal => Stage::Appraisal,
            RequestKind::Damage => Stage::Cause,
            _ => Stage::Approval,
        }
    }
}

/// May a person of `role` file a request of `kind`? The pages offer a
/// form by it and filing refuses by it: one rule for both.
pub fn may_file(role: Role, kind: RequestKind) -> bool {
    kind.filed_by().contains(&role)
}

/// Why a step was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The step exists at this stage but is someone else's (403).
    WrongRole { allowed: &'static [Role] },
    /// The step does not apply at this stage (409).
    WrongStage,
    /// Beyond the configuration standard: the agency head's extra approval
    /// comes first (409).
    NeedsStandardApproval,
    /// Nothing beyond the standard awaits an extra approval (409).
    WithinStandard,
}

impl Refusal {
    pub fn into_error(self, id: i64, kind: RequestKind, stage: Stage, step: StepKind) -> AppError {
        match self {
            Refusal::WrongRole { allowed } => Reason::StepNotYours {
                request_id: id,
                kind: kind.as_str().into(),
                stage: stage.as_str().into(),
                step: step.as_str().into(),
                roles: allowed.iter().map(|r| r.as_str().to_owned()).collect(),
            }
            .into(),
            Refusal::WrongStage => Reason::WrongStage {
                request_id: id,
                kind: kind.as_str().into(),
                stage: stage.as_str().into(),
                step: step.as_str().into(),
            }
            .into(),
            Refusal::NeedsStandardApproval => {
                Reason::NeedsStandardApproval { request_id: id }.into()
            }
            Refusal::WithinStandard => Reason::WithinStandard { request_id: id }.into(),
        }
    }
}

/// What of a request (or of the step's own figures) chooses between two
/// next stages: the disposal's method (an auction goes on to the sale),
/// whether a procurement spends more than the approved budget, and
/// whether a purchase's goods stay in the warehouse (`to_warehouse`: the
/// request completes at receiving, nothing is checked out).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Route {
    pub method: Option<DisposalMethod>,
    pub over_budget: bool,
    pub to_warehouse: bool,
    /// 超标准: the request asks beyond the configuration standard and the
    /// agency head has not yet given the extra approval.
    pub awaiting_standard: bool,
}

impl From<Option<DisposalMethod>> for Route {
    fn from(method: Option<DisposalMethod>) -> Self {
        Route {
            method,
            ..Route::default()
        }
    }
}

/// Does a purchase whose lines cost `spent_fen` in all spend more than the
/// approved budget? (`None`: a total too large to count, over any budget.)
pub fn over_budget(budget_fen: Option<i64>, spent_fen: Option<i64>) -> bool {
    match budget_fen {
        Some(budget) => spent_fen.is_none_or(|total| total > budget),
        None => false,
    }
}

/// 赔偿金额 — what a compensation decision comes to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Compensation {
    pub amount_fen: i64,
    /// The items' original value (the default amount).
    pub original_value_fen: i64,
    /// Why another amount than the original value (given then).
    pub reason: Option<String>,
}

/// The compensation rule (按原值赔偿): compensation is the items' original
/// value; the approver may set another amount only with a reason
/// (`amount_reason`), which is recorded with the decision.
pub fn compensation(
    original_value_fen: i64,
    given_fen: Option<i64>,
    reason: Option<&str>,
) -> AppResult<Compensation> {
    let reason = optional_text("amount_reason", reason, 1000)?;
    let amount_fen = match given_fen {
        Some(g) => amount("amount_fen", g)?,
        None => original_value_fen,
    };
    if amount_fen != original_value_fen && reason.is_none() {
        return Err(Reason::CompensationNeedsReason {
            original_fen: original_value_fen,
            given_fen: amount_fen,
        }
        .into());
    }
    Ok(Compensation {
        amount_fen,
        original_value_fen,
        reason,
    })
}

/// 上缴金额 — what an auction owes the treasury: the hammer price less the
/// recorded auction fees, which cannot exceed it.
pub fn net_proceeds(hammer_fen: i64, fees_fen: i64) -> AppResult<i64> {
    if fees_fen > hammer_fen {
        return Err(Reason::FeesOverHammer {
            hammer_fen,
            fees_fen,
        }
        .into());
    }
    Ok(hammer_fen - fees_fen)
}

/// The remittance rule: finance confirms exactly the hammer price less
/// the fees (the refusal names both amounts).
pub fn check_remittance(hammer_fen: i64, fees_fen: i64, given_fen: i64) -> AppResult<()> {
    let expected_fen = net_proceeds(hammer_fen, fees_fen)?;
    if given_fen != expected_fen {
        return Err(Reason::NotNetProceeds {
            hammer_fen,
            fees_fen,
            expected_fen,
            given_fen,
        }
        .into());
    }
    Ok(())
}

/// What becomes of a damage case's items once finance confirms payment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Settlement {
    /// Repaired at the party's cost: the item stays (under repair).
    Keep,
    /// Written off (disposed): natural wear, or a lost item compensated.
    WriteOff,
    /// 残值评估 — a damaged item compensated still has a residual value:
    /// it goes to a disposal opened at its appraisal, not to write-off.
    ResidualAppraisal,
}

/// The settlement rule of a damage case by its decided cause and remedy.
pub fn settlement(cause: Option<Cause>, remedy: Option<Remedy>, loss: bool) -> Settlement {
    match (cause, remedy) {
        (Some(Cause::Natural), _) => Settlement::WriteOff,
        (_, Some(Remedy::Compensate)) if loss => Settlement::WriteOff,
        (_, Some(Remedy::Compensate)) => Settlement::ResidualAppraisal,
        _ => Settlement::Keep,
    }
}

/// What a purchase's lines cost: Σ unit price × quantity per line, each
/// `(quantity, unit_price_fen)`; `None` when the sum is too large to count.
pub fn lines_total(lines: &[(i64, i64)]) -> Option<i64> {
    lines.iter().try_fold(0i64, |sum, (quantity, price)| {
        price
            .checked_mul(*quantity)
            .and_then(|t| sum.checked_add(t))
    })
}

/// The chain: for a request of `kind` at `stage`, may `role` take `step`,
/// and which stage follows once the step is complete? (Partial steps —
/// part of a check-out, some returns — stay at their stage; the store
/// decides completeness.) `route` carries the facts that choose between
/// next stages.
pub fn step(
    kind: RequestKind,
    stage: Stage,
    action: StepKind,
    role: Role,
    route: Route,
) -> Result<Stage, Refusal> {
    use RequestKind as K;
    use Role::*;
    use Stage as S;
    use StepKind as A;
    let (allowed, next): (&'static [Role], Stage) = match (kind, stage, action) {
        // The applicant may withdraw before anyone has decided.
        (k, s, A::Withdraw) if s == k.first_stage() => (&[UnitStaff, Keeper], S::Withdrawn),
        (_, S::Approval, A::Reject) => (&[Approver], S::Rejected),
        // 超标准审批: beyond the configuration standard, the approval waits
        // for the agency head (an approver marked head; the store checks
        // the mark), whose step is recorded and leaves the stage as it is.
        (K::Purchase | K::Allocation, S::Approval, A::Approve | A::Fulfil)
            if route.awaiting_standard && role == Approver =>
        {
            return Err(Refusal::NeedsStandardApproval)
        }
        (K::Purchase | K::Allocation, S::Approval, A::ApproveOverStandard)
            if route.awaiting_standard =>
        {
            (&[Approver], S::Approval)
        }
        (K::Purchase | K::Allocation, S::Approval, A::ApproveOverStandard) if role == Approver => {
            return Err(Refusal::WithinStandard)
        }
        (_, S::Finance | S::OverBudget, A::Reject) => (&[Finance], S::Rejected),
        (K::Damage, S::Cause, A::Reject) => (&[Approver], S::Rejected),

        (K::Purchase, S::Approval, A::Approve) => (&[Approver], S::Finance),
        // Fulfilling from stock hands items to the unit: not for goods
        // meant to stay in the warehouse.
        (K::Purchase, S::Approval, A::Fulfil) if !route.to_warehouse => (&[Approver], S::Checkout),
        (K::Purchase, S::Finance, A::Approve) => (&[Finance], S::Procurement),
        (K::Purchase, S::Procurement, A::Procure) => (
            &[Approver],
            if route.over_budget {
                S::OverBudget
            } else {
                S::Receiving
            },
        ),
        (K::Purchase, S::OverBudget, A::Approve) => (&[Finance], S::Receiving),
        (K::Purchase, S::Receiving, A::Receive) => (
            &[Keeper],
            if route.to_warehouse {
                S::Completed
            } else {
                S::Checkout
            },
        ),

        (K::Allocation | K::Loan, S::Approval, A::Approve) => (&[Approver], S::Checkout),
        (K::Purchase | K::Allocation | K::Loan, S::Checkout, A::CheckOut) => {
            (&[Keeper], S::Receipt)
        }
        (K::Purchase | K::Allocation, S::Receipt, A::ConfirmReceipt) => {
            (&[UnitStaff], S::Completed)
        }
        (K::Loan, S::Receipt, A::ConfirmReceipt) => (&[UnitStaff], S::OnLoan),
        (K::Loan, S::OnLoan, A::ReturnItems) => (&[Keeper], S::Completed),
        // 续借 — the approver moves an approved or lent loan's return day
        // later (the unit asks through its usual channel; the approver's
        // step is the record). The loan stays where it is.
        (K::Loan, S::Checkout | S::Receipt | S::OnLoan, A::Extend) => (&[Approver], stage),

        (K::Transfer, S::Approval, A::Approve) => (&[Approver], S::Completed),

        (K::Intake, S::Approval, A::Approve) => (&[Approver], S::Receiving),
        (K::Intake, S::Receiving, A::Receive) => (&[Keeper], S::Completed),

        (K::Disposal, S::Appraisal, A::Appraise) => (&[Keeper, Approver], S::Approval),
        (K::Disposal, S::Approval, A::Approve) => (&[Approver], S::Finance),
        (K::Disposal, S::Finance, A::Approve) => (
            &[Finance],
            if route.method == Some(DisposalMethod::Auction) {
                S::Sale
            } else {
                S::Completed
            },
        ),
        (K::Disposal, S::Sale, A::RecordSale) => (&[Approver], S::Remittance),
        (K::Disposal, S::Remittance, A::ConfirmRemittance) => (&[Finance], S::Completed),

        (K::Damage, S::Cause, A::DecideCause) => (&[Approver], S::Payment),
        (K::Damage, S::Payment, A::ConfirmPayment) => (&[Finance], S::Completed),

        _ => return Err(Refusal::WrongStage),
    };
    if allowed.contains(&role) {
        Ok(next)
    } else {
        Err(Refusal::WrongRole { allowed })
    }
}

// ---------------------------------------------------------------------------
// What clients send and receive.

/// A new request. Which fields are needed depends on `kind` (see the API
/// guide); the store names any missing one.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewRequest {
    pub kind: RequestKind,
    /// Category asked for (purchase; allocation/loan by category).
    pub category_id: Option<i64>,
    /// How many (purchase; allocation/loan by category).
    pub quantity: Option<i64>,
    /// Specific assets (allocation/loan of named items, transfer, intake,
    /// disposal, damage).
    pub asset_ids: Option<Vec<i64>>,
    /// Kits asked for (allocation/loan): each kit's members are named, and
    /// go out and come back together.
    #[serde(default)]
    pub kit_ids: Option<Vec<i64>>,
    /// Purchase budget in fen.
    pub budget_fen: Option<i64>,
    /// Why (the event for a loan, the purpose of a purchase, what happened).
    pub reason: Option<String>,
    /// YYYY-MM-DD (purchase).
    pub needed_by: Option<String>,
    /// YYYY-MM-DD (loan).
    pub loan_start: Option<String>,
    /// YYYY-MM-DD (loan).
    pub loan_due: Option<String>,
    /// Disposal only.
    pub disposal_method: Option<DisposalMethod>,
    /// Damage only: the items are lost rather than damaged.
    pub loss: Option<bool>,
    /// Unit concerned when a keeper files a disposal or damage report for a
    /// unit's assets; unit staff always act for their own unit.
    pub unit_id: Option<i64>,
    /// Purchase only: where the goods end. `unit` (the default for unit
    /// staff) allocates them to the requesting unit; `warehouse` (the only
    /// one, and the default, for a keeper's stock purchase) leaves them in
    /// stock, the request complete at receiving.
    #[serde(default)]
    pub destination: Option<Destination>,
    /// The request's lines (purchase, allocation, loan): several
    /// categories or named assets in one request. Instead of the one-line
    /// shorthand `category_id` / `quantity` / `asset_ids`, never with it.
    pub lines: Option<Vec<NewLine>>,
    /// 活动名称 — the event a loan or allocation serves (≤ 200 characters).
    pub event: Option<String>,
}

/// One line of a new request: a category and a quantity, or named assets
/// (allocation and loan), with notes.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewLine {
    pub category_id: Option<i64>,
    /// How many (1–100000); for named assets, their count if given.
    pub quantity: Option<i64>,
    /// Specific in-stock assets (allocation, loan).
    pub asset_ids: Option<Vec<i64>>,
    /// ≤ 500 characters.
    pub notes: Option<String>,
}

/// A line of a new request, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckedLine {
    pub category_id: Option<i64>,
    pub quantity: i64,
    pub asset_ids: Vec<i64>,
    pub notes: Option<String>,
}

/// A purchase line's unit price, given at procurement.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LinePrice {
    pub line_no: i64,
    pub unit_price_fen: i64,
}

/// How many of a purchase line's items arrived.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LineCount {
    pub line_no: i64,
    pub received: i64,
}

/// One returned item with its condition check.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReturnedItem {
    /// EPC scanned at the desk (hex), or…
    pub epc: Option<String>,
    /// …the asset id.
    pub asset_id: Option<i64>,
    pub condition: Condition,
    pub note: Option<String>,
}

/// Declares [`StepBody`] (internally tagged by `action`, as clients send
/// it and as the OpenAPI document shows it) and [`StepBodyByName`], the
/// same variants externally tagged: serde cannot follow the path of a field
/// inside an internally tagged enum, so the API re-reads a refused body in
/// that shape to name the field (`http::extract::parse_tagged`).
macro_rules! step_body {
    ($( $(#[$vm:meta])* $variant:ident { $( $(#[$fm:meta])* $field:ident : $ty:ty ),* $(,)? } ),* $(,)?) => {
        /// A step on a request: `{"action": "approve", "comment": "…"}` and
        /// the action's own fields.
        #[derive(Debug, Clone, Deserialize, ToSchema)]
        #[serde(tag = "action", rename_all = "snake_case", deny_unknown_fields)]
        pub enum StepBody {
            $( $(#[$vm])* $variant { $( $(#[$fm])* $field: $ty ),* } ),*
        }

        /// [`StepBody`] as `{"approve": {"comment": …}}`; see `step_body!`.
        #[derive(Debug, Deserialize)]
        #[serde(rename_all = "snake_case", deny_unknown_fields)]
        pub enum StepBodyByName {
            $( $variant { $( $(#[$fm])* $field: $ty ),* } ),*
        }

        impl From<StepBodyByName> for StepBody {
            fn from(b: StepBodyByName) -> Self {
                match b {
                    $( StepBodyByName::$variant { $($field),* } => StepBody::$variant { $($field),* } ),*
                }
            }
        }
    };
}

step_body! {    Approve {
        comment: Option<String>,
    },
    Reject {
        /// The reason is required.
        comment: String,
    },
    Withdraw {
        comment: Option<String>,
    },
    /// Purchase: fulfil from in-stock items (checked out as an allocation)
    /// or virtual-warehouse listings (transferred at once) instead.
    Fulfil {
        asset_ids: Vec<i64>,
        comment: Option<String>,
    },
    /// The unit price: `unit_price_fen` for a one-line purchase, or
    /// `line_prices` (one per line) for several lines.
    Procure {
        supplier: String,
        contract_number: String,
        unit_price_fen: Option<i64>,
        line_prices: Option<Vec<LinePrice>>,
        /// YYYY-MM-DD.
        purchased_on: Option<String>,
        comment: Option<String>,
    },
    /// Purchase: the delivery arrives (count check, assets created in
    /// stock, to be tagged). Intake: the scanned EPCs of handed-in items.
    Receive {
        location_id: i64,
        /// Purchase: how many arrived (must equal the quantity bought unless
        /// `accept_shortfall`); a purchase of several lines: `received_lines`.
        received: Option<i64>,
        /// Purchase of several lines: how many arrived per line (a line
        /// not named arrived in full).
        received_lines: Option<Vec<LineCount>>,
        /// Purchase: asset numbers for the new assets, in order (default:
        /// year, request number and item number, digits only).
        asset_numbers: Option<Vec<String>>,
        /// Purchase: name of the new assets (default: the category's name).
        name: Option<String>,
        model: Option<String>,
        /// Intake: EPCs scanned at the desk.
        epcs: Option<Vec<String>>,
        /// Intake: asset ids (when a tag is unreadable).
        asset_ids: Option<Vec<i64>>,
        /// Close the step with fewer items than expected.
        #[serde(default)]
        accept_shortfall: bool,
        comment: Option<String>,
    },
    /// EPCs scanned at the desk reader; matched against the approved
    /// request. `dry_run` only reports the match.
    CheckOut {
        epcs: Vec<String>,
        #[serde(default)]
        dry_run: bool,
        /// Finish the check-out even if fewer items than requested.
        #[serde(default)]
        accept_shortfall: bool,
        comment: Option<String>,
    },
    ConfirmReceipt {
        comment: Option<String>,
    },
    ReturnItems {
        items: Vec<ReturnedItem>,
        /// Where returned items go (default: where each came from).
        location_id: Option<i64>,
        comment: Option<String>,
    },
    Appraise {
        appraised_value_fen: i64,
        appraiser: String,
        report_ref: String,
        /// How the items go, when the appraisal settles it otherwise than
        /// filed (a residual value worth selling goes to `auction`).
        disposal_method: Option<DisposalMethod>,
        comment: Option<String>,
    },
    RecordSale {
        hammer_price_fen: i64,
        buyer: String,
        /// 拍卖费用 — the auction's fees (fen) deducted from the hammer
        /// price; the remittance is the hammer price less these.
        fees_fen: Option<i64>,
        /// The document attached to this request that shows the fees
        /// (required when `fees_fen` > 0; upload it first).
        fees_document_id: Option<i64>,
        comment: Option<String>,
    },
    ConfirmRemittance {
        amount_fen: i64,
        treasury_ref: String,
        comment: Option<String>,
    },
    DecideCause {
        cause: Cause,
        /// Human cause: who is responsible (unit or person).
        responsible: Option<String>,
        /// Human cause: repair or compensate.
        remedy: Option<Remedy>,
        /// Repair cost in fen (repair); compensation defaults to the
        /// items' original value.
        amount_fen: Option<i64>,
        /// Compensation of another amount than the original value: why
        /// (required then; recorded with the decision).
        amount_reason: Option<String>,
        comment: Option<String>,
    },
    ConfirmPayment {
        /// Amount received (fen); for a natural-wear write-off, 0.
        amount_fen: i64,
        receipt_ref: Option<String>,
        comment: Option<String>,
    },
    /// Loan: extend to a later return day (YYYY-MM-DD); refused as
    /// `overbooked` when the added days are not free.
    Extend {
        new_due: String,
        comment: Option<String>,
    },
    /// Purchase or allocation beyond the configuration standard: the
    /// agency head's extra approval (recorded with the numbers).
    ApproveOverStandard {
        comment: Option<String>,
    },
}

impl StepBody {
    pub fn kind(&self) -> StepKind {
        match self {
            StepBody::Approve { .. } => StepKind::Approve,
            StepBody::Reject { .. } => StepKind::Reject,
            StepBody::Withdraw { .. } => StepKind::Withdraw,
            StepBody::Fulfil { .. } => StepKind::Fulfil,
            StepBody::Procure { .. } => StepKind::Procure,
            StepBody::Receive { .. } => StepKind::Receive,
            StepBody::CheckOut { .. } => StepKind::CheckOut,
            StepBody::ConfirmReceipt { .. } => StepKind::ConfirmReceipt,
            StepBody::ReturnItems { .. } => StepKind::ReturnItems,
            StepBody::Appraise { .. } => StepKind::Appraise,
            StepBody::RecordSale { .. } => StepKind::RecordSale,
            StepBody::ConfirmRemittance { .. } => StepKind::ConfirmRemittance,
            StepBody::DecideCause { .. } => StepKind::DecideCause,
            StepBody::ConfirmPayment { .. } => StepKind::ConfirmPayment,
            StepBody::Extend { .. } => StepKind::Extend,
            StepBody::ApproveOverStandard { .. } => StepKind::ApproveOverStandard,
        }
    }

    /// Checks the step's own figures that need nothing stored: the texts
    /// it requires ([`step_text`]) and its amounts. Every problem at once,
    /// each naming its field; the store runs it before the step.
    pub fn check(&self) -> AppResult<()> {
        let mut problems: Vec<AppError> = Vec::new();
        let mut keep = |r: AppResult<()>| {
            if let Err(e) = r {
                problems.push(e);
            }
        };
        let text = |field: &str, v: &str| step_text(field, v).map(drop);
        let money = |field: &str, v: i64| amount(field, v).map(drop);
        match self {
            StepBody::Reject { comment } => keep(text("comment", comment)),
            StepBody::Procure {
                supplier,
                contract_number,
                unit_price_fen,
                line_prices,
                purchased_on,
                ..
            } => {
                keep(text("supplier", supplier));
                keep(text("contract_number", contract_number));
                if let Some(p) = unit_price_fen {
                    keep(money("unit_price_fen", *p));
                }
                for (i, p) in line_prices.iter().flatten().enumerate() {
                    keep(money(
                        &format!("line_prices[{i}].unit_price_fen"),
                        p.unit_price_fen,
                    ));
                }
                keep(parse_date("purchased_on", purchased_on.as_deref()).map(drop));
            }
            StepBody::Appraise {
                appraised_value_fen,
                appraiser,
                report_ref,
                ..
            } => {
                keep(money("appraised_value_fen", *appraised_value_fen));
                keep(text("appraiser", appraiser));
                keep(text("report_ref", report_ref));
            }
            StepBody::RecordSale {
                hammer_price_fen,
                buyer,
                fees_fen,
                ..
            } => {
                keep(money("hammer_price_fen", *hammer_price_fen));
                keep(text("buyer", buyer));
                if let Some(f) = fees_fen {
                    keep(money("fees_fen", *f));
                }
            }
            StepBody::ConfirmRemittance {
                amount_fen,
                treasury_ref,
                ..
            } => {
                keep(money("amount_fen", *amount_fen));
                keep(text("treasury_ref", treasury_ref));
            }
            StepBody::Extend { new_due, .. } => {
                keep(parse_date("new_due", Some(new_due)).map(drop));
            }
            _ => {}
        }
        AppError::collect(problems)
    }

    pub fn comment(&self) -> Option<&str> {
        match self {
            StepBody::Reject { comment } => Some(comment.as_str()),
            StepBody::Approve { comment }
            | StepBody::Withdraw { comment }
            | StepBody::Fulfil { comment, .. }
            | StepBody::Procure { comment, .. }
            | StepBody::Receive { comment, .. }
            | StepBody::CheckOut { comment, .. }
            | StepBody::ConfirmReceipt { comment }
            | StepBody::ReturnItems { comment, .. }
            | StepBody::Appraise { comment, .. }
            | StepBody::RecordSale { comment, .. }
            | StepBody::ConfirmRemittance { comment, .. }
            | StepBody::DecideCause { comment, .. }
            | StepBody::ConfirmPayment { comment, .. }
            | StepBody::Extend { comment, .. }
            | StepBody::ApproveOverStandard { comment } => comment.as_deref(),
        }
    }
}

/// A text a step requires, trimmed, within its field's length: names
/// (supplier, appraiser, buyer, responsible party) up to 200 characters,
/// references up to 200 (a contract number 100), a comment up to 1000.
pub fn step_text(field: &str, value: &str) -> AppResult<String> {
    let max = match field {
        "comment" | "amount_reason" => 1000,
        "contract_number" => 100,
        _ => 200,
    };
    crate::input::required_text(field, value, max)
}

/// An asset a request holds or moved.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RequestItem {
    pub asset_id: i64,
    pub asset_number: String,
    pub name: String,
    /// `requested`, `checked_out`, `received`, `returned`, `done`, `released`.
    pub status: String,
    pub asset_state: String,
    pub return_condition: Option<String>,
    /// The asset's bound tag (hex); none yet = still to be commissioned.
    pub epc: Option<String>,
    /// The request line the item belongs to.
    pub line_no: i64,
}

/// 申请明细 — one line of a request: what it asks and how far it has got.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RequestLine {
    pub line_no: i64,
    /// The category asked (none for a line of named assets filed without one).
    pub category_id: Option<i64>,
    /// How many are asked.
    pub quantity: i64,
    pub notes: Option<String>,
    /// Checked out at the desk (or, for a purchase, bought and handed out).
    pub checked_out: i64,
    /// Back from loan.
    pub returned: i64,
    /// The line's assets (named at filing, or matched at the desk).
    pub items: Vec<i64>,
    /// Purchase: the unit price recorded at procurement, and the line's total.
    pub unit_price_fen: Option<i64>,
    pub total_fen: Option<i64>,
    /// A line asked by category of an allocation or loan, until checked
    /// out: the category's stock against what the request asks of it.
    pub stock: Option<StockCheck>,
}

/// One recorded step: who, when, what, why.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Step {
    pub stage: String,
    pub action: String,
    pub actor: String,
    pub at: DateTime<Utc>,
    pub comment: Option<String>,
    /// The step's figures (procurement, appraisal, sale, cause…).
    #[schema(value_type = Object)]
    pub details: serde_json::Value,
}

/// A request with its items and history.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Request {
    pub id: i64,
    pub kind: RequestKind,
    pub stage: Stage,
    /// Who acts next, if anyone.
    pub awaiting: Option<Role>,
    /// The requesting (or concerned) unit.
    pub unit_id: Option<i64>,
    /// For a transfer: the unit giving the item.
    pub other_unit_id: Option<i64>,
    pub applicant: String,
    /// Summary: the first line's category (see `lines`).
    pub category_id: Option<i64>,
    /// Summary: the lines' quantities together (see `lines`).
    pub quantity: Option<i64>,
    /// 活动名称 — the event a loan or allocation serves.
    pub event: Option<String>,
    pub budget_fen: Option<i64>,
    pub reason: Option<String>,
    pub needed_by: Option<String>,
    pub loan_start: Option<String>,
    pub loan_due: Option<String>,
    /// A loan past its due date with items still out.
    pub overdue: bool,
    pub disposal_method: Option<DisposalMethod>,
    pub loss: bool,
    /// Purchase: where the goods end (`unit` or `warehouse`).
    pub destination: Destination,
    pub batch_id: Option<i64>,
    /// Procurement total (unit price × quantity).
    pub spent_fen: Option<i64>,
    /// Budget − spent, for purchases within their budget.
    pub savings_fen: Option<i64>,
    /// Spent − budget, for purchases that cost more than their budget
    /// (超支: finance approves it at the stage `over_budget`).
    pub overspent_fen: Option<i64>,
    pub appraised_fen: Option<i64>,
    pub hammer_fen: Option<i64>,
    /// 拍卖费用 — the auction fees recorded with the sale.
    pub fees_fen: Option<i64>,
    /// The proceeds due to the treasury: hammer price − fees.
    pub net_fen: Option<i64>,
    pub remitted_fen: Option<i64>,
    pub compensation_fen: Option<i64>,
    pub compensation_paid_fen: Option<i64>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub closed_at: Option<DateTime<Utc>>,
    /// The region it belongs to: its unit's (the filer's for the
    /// warehouse's own stock).
    pub region_id: Option<i64>,
    /// For a residual-value disposal (残值评估): the damage case whose
    /// compensated item it appraises and disposes of.
    pub origin_request_id: Option<i64>,
    /// What the request asks, line by line, and each line's progress.
    pub lines: Vec<RequestLine>,
    pub items: Vec<RequestItem>,
    pub steps: Vec<Step>,
    pub documents: Vec<DocumentInfo>,
    /// For an allocation or loan asked by category: what is asked against
    /// what is in stock, until the items are checked out (of several
    /// categories: the first one short, else the first; each line has its own).
    pub stock: Option<StockCheck>,
    /// 超标准: where it asks beyond the configuration standard, with the
    /// numbers (empty: within the standard); fixed at filing.
    pub over_standard: Vec<crate::standards::Excess>,
    /// The agency head's extra approval of it: who and when.
    pub standard_approved_by: Option<String>,
    pub standard_approved_at: Option<DateTime<Utc>>,
}

impl Request {
    /// Beyond the standard and not yet given the agency head's extra
    /// approval: the approval waits.
    pub fn awaiting_standard(&self) -> bool {
        !self.over_standard.is_empty() && self.standard_approved_at.is_none()
    }

    /// The facts of this request that choose between next stages in the
    /// chain table (the step's own figures, like a procurement's price,
    /// are added by the step).
    pub fn route(&self) -> Route {
        Route {
            method: self.disposal_method,
            over_budget: false,
            to_warehouse: self.destination == Destination::Warehouse,
            awaiting_standard: self.awaiting_standard(),
        }
    }
}

/// 集中采购 — several approved purchases bought under one contract: one
/// supplier, one contract number, one purchase date, a unit price for
/// each request. Each request takes its own `procure` step naming the
/// shared procurement batch.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewProcurement {
    /// The purchase requests bought together, each at stage `procurement`.
    pub request_ids: Vec<i64>,
    pub supplier: String,
    /// The contract number: one procurement's, never reused by another.
    pub contract_number: String,
    /// YYYY-MM-DD.
    pub purchased_on: Option<String>,
    /// The unit price of each request (one line per request).
    pub lines: Vec<ProcurementLine>,
    pub comment: Option<String>,
}

/// One request's unit price in a combined procurement.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProcurementLine {
    pub request_id: i64,
    pub unit_price_fen: i64,
}

/// Most requests one procurement combines.
pub const MAX_PROCUREMENT_REQUESTS: usize = 200;

impl NewProcurement {
    /// The unit price for each request, in the order of `request_ids`:
    /// every request named once, each with exactly one line, no line for a
    /// request not named. (The figures themselves are checked by each
    /// request's `procure` step.)
    pub fn prices(&self) -> AppResult<Vec<(i64, i64)>> {
        if self.request_ids.is_empty() {
            return Err(Reason::Required {
                field: "request_ids".into(),
            }
            .into());
        }
        if self.request_ids.len() > MAX_PROCUREMENT_REQUESTS {
            return Err(Reason::TooMany {
                field: "request_ids".into(),
                max: MAX_PROCUREMENT_REQUESTS,
                given: Some(self.request_ids.len()),
            }
            .into());
        }
        let mut seen = Vec::with_capacity(self.request_ids.len());
        for &id in &self.request_ids {
            if seen.contains(&id) {
                return Err(Reason::RequestNamedTwice { request_id: id }.into());
            }
            seen.push(id);
        }
        if let Some(l) = self
            .lines
            .iter()
            .find(|l| !self.request_ids.contains(&l.request_id))
        {
            return Err(Reason::PriceLineNotAsked {
                request_id: l.request_id,
            }
            .into());
        }
        self.request_ids
            .iter()
            .map(|&id| {
                let mut lines = self.lines.iter().filter(|l| l.request_id == id);
                match (lines.next(), lines.next()) {
                    (Some(l), None) => Ok((id, l.unit_price_fen)),
                    (None, _) => Err(Reason::NoPriceLine { request_id: id }.into()),
                    (Some(_), Some(_)) => {
                        Err(AppError::from(Reason::RequestNamedTwice { request_id: id })
                            .with_field("lines"))
                    }
                }
            })
            .collect()
    }
}

/// A combined procurement as recorded: the batch (one contract) and its
/// requests after their `procure` steps.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Procurement {
    pub batch_id: i64,
    pub contract_number: String,
    pub supplier: String,
    pub purchased_on: Option<String>,
    /// The sum of the requests' totals (unit price × quantity).
    pub total_fen: i64,
    pub requests: Vec<Request>,
}

/// 库存核对 — what a request by category asks against the in-stock items
/// of the category that no open request holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
pub struct StockCheck {
    pub category_id: i64,
    pub asked: i64,
    pub in_stock: i64,
    /// How many more are asked than are in stock (0: enough).
    pub short_by: i64,
}

impl StockCheck {
    pub fn new(category_id: i64, asked: i64, in_stock: i64) -> Self {
        Self {
            category_id,
            asked,
            in_stock,
            short_by: asked.saturating_sub(in_stock).max(0),
        }
    }

    pub fn is_short(&self) -> bool {
        self.short_by > 0
    }

    /// The approval rule: a request short of stock is not approved
    /// (409 `short_of_stock` with the figures) until stock has arrived.
    pub fn approvable(&self, request_id: i64, category: &str) -> AppResult<()> {
        if self.is_short() {
            return Err(Reason::ShortOfStock {
                request_id,
                category_id: self.category_id,
                category: category.into(),
                asked: self.asked,
                in_stock: self.in_stock,
            }
            .into());
        }
        Ok(())
    }
}

/// Which requests are served from stock by category: allocations and
/// loans asking a category and quantity (named items are held from
/// filing), from filing until the keeper checks them out. Returns the
/// category and quantity to check.
pub fn served_by_category(
    kind: RequestKind,
    stage: Stage,
    category_id: Option<i64>,
    quantity: Option<i64>,
    names_items: bool,
) -> Option<(i64, i64)> {
    let by_category = matches!(kind, RequestKind::Allocation | RequestKind::Loan) && !names_items;
    let waiting = matches!(stage, Stage::Approval | Stage::Checkout);
    match (by_category && waiting, category_id, quantity) {
        (true, Some(c), Some(q)) => Some((c, q)),
        _ => None,
    }
}

/// What a desk scan matched against a request.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ScanMatch {
    /// Assets that fit the request (checked out unless a dry run).
    pub matched: Vec<i64>,
    /// Scanned EPCs that do not fit, each with the reason.
    pub extras: Vec<Extra>,
    /// How many more items the request still needs.
    pub shortfall: i64,
    /// The lines still short, each with how many it lacks.
    pub short_lines: Vec<ShortLine>,
    pub committed: bool,
}

/// A request line the desk has not yet filled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
pub struct ShortLine {
    pub line_no: i64,
    pub short_by: i64,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Extra {
    pub epc: String,
    pub asset_id: Option<i64>,
    /// Why it does not fit, in English (for logs and API clients).
    pub reason: String,
    /// The same, typed: what pages render in the person's language.
    pub why: ExtraWhy,
    /// The request line it would have filled (an item over a full line).
    pub line_no: Option<i64>,
}

impl Extra {
    pub fn new(epc: String, asset_id: Option<i64>, why: ExtraWhy) -> Self {
        Extra {
            epc,
            asset_id,
            reason: why.english(),
            why,
            line_no: None,
        }
    }
}

/// Why a scanned tag does not fit a check-out or intake.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum ExtraWhy {
    /// The tag is not bound to any asset in the register.
    UnknownTag,
    /// The request names its assets and this is not one of them.
    NotPartOfRequest,
    /// Already checked out for this request.
    AlreadyOut,
    /// Another request holds the asset.
    HeldBy { request_id: i64 },
    /// The asset is not in stock.
    NotInStock { state: crate::register::AssetState },
    /// The asset is of another category than the request asks for.
    WrongCategory,
    /// The request already has all the items it needs.
    MoreThanNeeded,
    /// An intake's asset this request did not hand in.
    NotHandedIn,
}

impl ExtraWhy {
    pub fn english(&self) -> String {
        match self {
            ExtraWhy::UnknownTag => "unknown tag (not in the register)".into(),
            ExtraWhy::NotPartOfRequest => "not part of this request".into(),
            ExtraWhy::AlreadyOut => "already checked out for this request".into(),
            ExtraWhy::HeldBy { request_id } => format!("held by request {request_id}"),
            ExtraWhy::NotInStock { state } => {
                format!("asset is {}, not in stock", state.as_str())
            }
            ExtraWhy::WrongCategory => "wrong category".into(),
            ExtraWhy::MoreThanNeeded => "more items than the request needs".into(),
            ExtraWhy::NotHandedIn => "not handed in by this request".into(),
        }
    }
}

/// Result of a step.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct StepOutcome {
    pub request: Request,
    /// For check-outs: what the scan matched.
    pub scan: Option<ScanMatch>,
    /// Requests this step opened (a damage case from a damaged return).
    pub opened: Vec<i64>,
}

/// An attached file's metadata.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DocumentInfo {
    pub id: i64,
    pub request_id: i64,
    pub filename: String,
    pub content_type: String,
    pub size: i64,
    /// SHA-256 of the content, hex.
    pub sha256: String,
    pub uploaded_by: String,
    pub uploaded_at: DateTime<Utc>,
}

/// Largest attachment (or asset photo) accepted.
pub const MAX_DOCUMENT_BYTES: usize = 5 * 1024 * 1024;

/// Accepted attachment types, recognised by their first bytes (the
/// declared type must agree).
pub const DOCUMENT_TYPES: &[(&str, &[u8])] = &[
    ("application/pdf", b"%PDF-"),
    ("image/png", b"\x89PNG\r\n\x1a\n"),
    ("image/jpeg", b"\xff\xd8\xff"),
    ("image/webp", b"RIFF"),
];

/// Checks a document's declared type against its content.
pub fn check_document(content_type: &str, body: &[u8], max: usize) -> Result<(), AppError> {
    if body.is_empty() {
        return Err(Reason::EmptyFile.into());
    }
    if body.len() > max {
        return Err(Reason::TooLarge {
            limit_bytes: max,
            size: Some(body.len()),
        }
        .into());
    }
    let ct = content_type.split(';').next().unwrap_or("").trim();
    let Some((_, magic)) = DOCUMENT_TYPES.iter().find(|(t, _)| *t == ct) else {
        return Err(Reason::UnsupportedFileType {
            content_type: ct.into(),
            accepted: DOCUMENT_TYPES.iter().map(|(t, _)| *t).collect(),
        }
        .into());
    };
    let webp_ok = ct != "image/webp" || body.get(8..12) == Some(b"WEBP".as_slice());
    if !body.starts_with(magic) || !webp_ok {
        return Err(Reason::ContentMismatch {
            content_type: ct.into(),
        }
        .into());
    }
    Ok(())
}

/// A safe file name for storage and download: path parts and control
/// characters removed, bounded length.
pub fn clean_filename(name: &str) -> Result<String, AppError> {
    let base = name.rsplit(['/', '\\']).next().unwrap_or("");
    let cleaned: String = base
        .chars()
        .filter(|c| !c.is_control() && *c != '"')
        .take(120)
        .collect();
    let cleaned = cleaned.trim().trim_start_matches('.').to_owned();
    if cleaned.is_empty() {
        return Err(Reason::Required {
            field: "filename".into(),
        }
        .into());
    }
    Ok(cleaned)
}

/// A request's own fields, checked and normalised: what needs no SQL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckedRequest {
    pub reason: Option<String>,
    pub needed_by: Option<String>,
    pub loan_start: Option<String>,
    pub loan_due: Option<String>,
    /// Every named asset, of every line.
    pub asset_ids: Vec<i64>,
    /// The lines to store (the shorthand is one line).
    pub lines: Vec<CheckedLine>,
    pub event: Option<String>,
}

impl NewRequest {
    /// Checks what each kind of request must carry (and must not), the
    /// dates (a loan starts today or later: `today` is the Asia/Shanghai
    /// date, `time::shanghai_today()`), the quantity and the budget. Every
    /// problem is reported at once, each naming its field
    /// ([`AppError::collect`]).
    pub fn check_on(&self, today: &str) -> AppResult<CheckedRequest> {
        use RequestKind as K;
        let mut problems: Vec<AppError> = Vec::new();
        let mut keep = |r: AppResult<Option<String>>| match r {
            Ok(v) => v,
            Err(e) => {
                problems.push(e);
                None
            }
        };
        let reason = keep(optional_text("reason", self.reason.as_deref(), 2000));
        let needed_by = keep(parse_date("needed_by", self.needed_by.as_deref()));
        let loan_start = keep(parse_date("loan_start", self.loan_start.as_deref()));
        let loan_due = keep(parse_date("loan_due", self.loan_due.as_deref()));
        // Which dates were given but unreadable (already blamed).
        let unreadable =
            |given: &Option<String>, read: &Option<String>| given.is_some() && read.is_none();
        let bad_reason = unreadable(
            &self.reason.clone().filter(|r| !r.trim().is_empty()),
            &reason,
        );
        let bad_start = unreadable(&self.loan_start, &loan_start);
        let bad_due = unreadable(&self.loan_due, &loan_due);
        let event = keep(optional_text("event", self.event.as_deref(), 200));
        if event.is_some() && !matches!(self.kind, K::Loan | K::Allocation) {
            problems.push(
                Reason::NotForKind {
                    field: "event".into(),
                    kind: self.kind.as_str().into(),
                }
                .into(),
            );
        }
        let lines = self.check_lines(&mut problems);
        let asset_ids: Vec<i64> = match &self.lines {
            Some(_) => lines.iter().flat_map(|l| l.asset_ids.clone()).collect(),
            None => self.asset_ids.clone().unwrap_or_default(),
        };
        if asset_ids.len() > 5000 {
            problems.push(
                Reason::TooMany {
                    field: "asset_ids".into(),
                    max: 5000,
                    given: None,
                }
                .into(),
            );
        }
        let mut dedup = asset_ids.clone();
        dedup.sort_unstable();
        dedup.dedup();
        if dedup.len() != asset_ids.len() {
            problems.push(Reason::AssetNamedTwice.into());
        }
        let mut need = |field: &str, present: bool| {
            if !present {
                problems.push(
                    Reason::RequiredFor {
                        field: field.into(),
                        kind: self.kind.as_str().into(),
                    }
                    .into(),
                );
            }
        };
        let shorthand = self.lines.is_none();
        match self.kind {
            K::Purchase => {
                need("category_id", self.category_id.is_some() || !shorthand);
                need("quantity", self.quantity.is_some() || !shorthand);
                need("budget_fen", self.budget_fen.is_some());
                need("reason", reason.is_some() || bad_reason);
            }
            K::Allocation | K::Loan => {
                if asset_ids.is_empty()
                    && shorthand
                    && self.kit_ids.as_ref().is_none_or(Vec::is_empty)
                {
                    need("category_id", self.category_id.is_some());
                    need("quantity", self.quantity.is_some());
                }
                if self.kind == K::Loan {
                    need("loan_start", loan_start.is_some() || bad_start);
                    need("loan_due", loan_due.is_some() || bad_due);
                }
            }
            K::Transfer | K::Intake | K::Disposal | K::Damage => {
                need("asset_ids", !asset_ids.is_empty());
            }
        }
        if self.kind == K::Disposal {
            need("disposal_method", self.disposal_method.is_some());
        }
        if self.kind == K::Damage {
            need("reason", reason.is_some() || bad_reason);
        }
        if let Some(kits) = &self.kit_ids {
            if !matches!(self.kind, K::Allocation | K::Loan) && !kits.is_empty() {
                problems.push(
                    Reason::KitsLoanOnly {
                        kind: self.kind.as_str().into(),
                    }
                    .into(),
                );
            }
            if kits.len() > 100 {
                problems.push(
                    Reason::TooMany {
                        field: "kit_ids".into(),
                        max: 100,
                        given: Some(kits.len()),
                    }
                    .into(),
                );
            }
        }
        if self.kind == K::Purchase && !asset_ids.is_empty() && shorthand {
            problems.push(Reason::PurchaseNamesAssets.into());
        }
        if self.kind != K::Purchase && self.destination.is_some() {
            problems.push(
                Reason::DestinationPurchaseOnly {
                    kind: self.kind.as_str().into(),
                }
                .into(),
            );
        }
        if self.kind == K::Loan {
            if loan_start.as_deref().is_some_and(|s| s < today) {
                problems.push(
                    Reason::BeforeToday {
                        field: "loan_start".into(),
                        today: today.into(),
                    }
                    .into(),
                );
            }
            if let (Some(start), Some(due)) = (&loan_start, &loan_due) {
                if due < start {
                    problems.push(Reason::DueBeforeStart.into());
                }
            }
        }
        if let Some(q) = self.quantity {
            if let Err(e) = in_range("quantity", q, 1, 100_000) {
                problems.push(e);
            }
        }
        if let Some(b) = self.budget_fen {
            if let Err(e) = amount("budget_fen", b) {
                problems.push(e);
            }
        }
        AppError::collect(problems)?;
        let lines = match &self.lines {
            Some(_) => lines,
            // The shorthand is one line: a category and quantity, or the
            // named assets.
            None => match (self.quantity, asset_ids.is_empty()) {
                (_, false) => vec![CheckedLine {
                    category_id: None,
                    quantity: asset_ids.len() as i64,
                    asset_ids: asset_ids.clone(),
                    notes: None,
                }],
                (Some(quantity), true) => vec![CheckedLine {
                    category_id: self.category_id,
                    quantity,
                    asset_ids: Vec::new(),
                    notes: None,
                }],
                (None, true) => Vec::new(),
            },
        };
        Ok(CheckedRequest {
            reason,
            needed_by,
            loan_start,
            loan_due,
            asset_ids,
            lines,
            event,
        })
    }

    /// Checks `lines` (when sent): not with the shorthand, only on a
    /// purchase, allocation or loan, each line a category and quantity or
    /// named assets (never on a purchase); every problem names its line
    /// (`lines[2].quantity`).
    fn check_lines(&self, problems: &mut Vec<AppError>) -> Vec<CheckedLine> {
        use RequestKind as K;
        let Some(lines) = &self.lines else {
            return Vec::new();
        };
        if self.category_id.is_some() || self.quantity.is_some() || self.asset_ids.is_some() {
            problems.push(Reason::LinesAndShorthand.into());
        }
        if !matches!(self.kind, K::Purchase | K::Allocation | K::Loan) {
            problems.push(
                Reason::NotForKind {
                    field: "lines".into(),
                    kind: self.kind.as_str().into(),
                }
                .into(),
            );
            return Vec::new();
        }
        if lines.is_empty() {
            problems.push(
                Reason::RequiredFor {
                    field: "lines".into(),
                    kind: self.kind.as_str().into(),
                }
                .into(),
            );
        }
        if lines.len() > MAX_LINES {
            problems.push(
                Reason::TooMany {
                    field: "lines".into(),
                    max: MAX_LINES,
                    given: Some(lines.len()),
                }
                .into(),
            );
            return Vec::new();
        }
        let mut checked = Vec::with_capacity(lines.len());
        for (i, line) in lines.iter().enumerate() {
            let field = |name: &str| format!("lines[{i}].{name}");
            let named = line.asset_ids.clone().unwrap_or_default();
            let notes = match optional_text(&field("notes"), line.notes.as_deref(), 500) {
                Ok(n) => n,
                Err(e) => {
                    problems.push(e);
                    None
                }
            };
            if self.kind == K::Purchase && !named.is_empty() {
                problems.push(
                    AppError::from(Reason::PurchaseNamesAssets).with_field(field("asset_ids")),
                );
            }
            let quantity = if named.is_empty() {
                if line.category_id.is_none() {
                    problems.push(
                        Reason::RequiredFor {
                            field: field("category_id"),
                            kind: self.kind.as_str().into(),
                        }
                        .into(),
                    );
                }
                match line.quantity {
                    Some(q) => q,
                    None => {
                        problems.push(
                            Reason::RequiredFor {
                                field: field("quantity"),
                                kind: self.kind.as_str().into(),
                            }
                            .into(),
                        );
                        1
                    }
                }
            } else {
                let n = named.len() as i64;
                if let Some(q) = line.quantity.filter(|q| *q != n) {
                    // Named assets are counted; a quantity given must agree.
                    if let Err(e) = in_range(&field("quantity"), q, n, n) {
                        problems.push(e);
                    }
                }
                n
            };
            if let Err(e) = in_range(&field("quantity"), quantity, 1, 100_000) {
                problems.push(e);
            }
            checked.push(CheckedLine {
                // A line of named assets asks for those assets, whatever
                // their category.
                category_id: if named.is_empty() {
                    line.category_id
                } else {
                    None
                },
                quantity,
                asset_ids: named,
                notes,
            });
        }
        checked
    }
}

/// Most lines one request holds.
pub const MAX_LINES: usize = 200;

#[cfg(test)]
mod tests {
    use super::*;

    fn request(kind: RequestKind) -> NewRequest {
        NewRequest {
            kind,
            category_id: None,
            quantity: None,
            asset_ids: None,
            kit_ids: None,
            budget_fen: None,
            reason: None,
            needed_by: None,
            loan_start: None,
            loan_due: None,
            disposal_method: None,
            loss: None,
            unit_id: None,
            lines: None,
            event: None,
            destination: None,
        }
    }

    const TODAY: &str = "2024-01-01";

    fn field_of(r: &NewRequest) -> Option<String> {
        r.check_on(TODAY).err().and_then(|e| e.field)
    }

    fn line(category_id: Option<i64>, quantity: Option<i64>) -> NewLine {
        NewLine {
            category_id,
            quantity,
            ..NewLine::default()
        }
    }

    #[test]
    fn lines_are_checked_one_by_one_and_named_by_their_path() {
        let mut r = request(RequestKind::Allocation);
        r.lines = Some(vec![line(Some(1), Some(4)), line(Some(2), Some(0))]);
        assert_eq!(field_of(&r), Some("lines[1].quantity".into()));
        r.lines = Some(vec![line(None, Some(2))]);
        assert_eq!(field_of(&r), Some("lines[0].category_id".into()));
        r.lines = Some(vec![line(Some(1), None)]);
        assert_eq!(field_of(&r), Some("lines[0].quantity".into()));
        r.lines = Some(vec![]);
        assert_eq!(field_of(&r), Some("lines".into()));
        // Both forms at once.
        r.lines = Some(vec![line(Some(1), Some(1))]);
        r.category_id = Some(1);
        let e = r.check_on(TODAY).err().map(|e| e.code);
        assert_eq!(e, Some("lines_and_shorthand"));
        // Good lines: a named line counts its assets and has no category
        // of its own; notes are kept.
        r.category_id = None;
        r.lines = Some(vec![
            NewLine {
                notes: Some(" 主席台 ".into()),
                ..line(Some(1), Some(4))
            },
            NewLine {
                category_id: Some(9),
                asset_ids: Some(vec![7, 8]),
                ..NewLine::default()
            },
        ]);
        let c = r.check_on(TODAY).ok();
        let lines = c.as_ref().map(|c| c.lines.clone()).unwrap_or_default();
        assert_eq!(
            lines,
            vec![
                CheckedLine {
                    category_id: Some(1),
                    quantity: 4,
                    asset_ids: vec![],
                    notes: Some("主席台".into())
                },
                CheckedLine {
                    category_id: None,
                    quantity: 2,
                    asset_ids: vec![7, 8],
                    notes: None
                },
            ]
        );
        assert_eq!(c.map(|c| c.asset_ids), Some(vec![7, 8]));
        // An asset on two lines is named twice.
        r.lines = Some(vec![
            NewLine {
                asset_ids: Some(vec![7]),
                ..NewLine::default()
            },
            NewLine {
                asset_ids: Some(vec![7]),
                ..NewLine::default()
            },
        ]);
        assert_eq!(field_of(&r), Some("asset_ids".into()));
    }

    #[test]
    fn lines_and_events_belong_to_some_kinds_only() {
        let mut t = request(RequestKind::Transfer);
        t.asset_ids = Some(vec![3]);
        t.lines = Some(vec![line(Some(1), Some(1))]);
        assert!(fields_of(&t).contains(&"lines".to_owned()));
        let mut p = request(RequestKind::Purchase);
        p.budget_fen = Some(100);
        p.reason = Some("x".into());
        p.lines = Some(vec![NewLine {
            asset_ids: Some(vec![3]),
            ..NewLine::default()
        }]);
        assert_eq!(field_of(&p), Some("lines[0].asset_ids".into()));
        p.lines = Some(vec![line(Some(1), Some(2))]);
        assert_eq!(field_of(&p), None);
        p.event = Some("年会".into());
        assert_eq!(field_of(&p), Some("event".into()));
        let mut l = request(RequestKind::Allocation);
        l.category_id = Some(1);
        l.quantity = Some(1);
        l.event = Some("年会".into());
        assert_eq!(
            l.check_on(TODAY).ok().and_then(|c| c.event),
            Some("年会".into())
        );
    }

    fn fields_of(r: &NewRequest) -> Vec<String> {
        r.check_on(TODAY)
            .err()
            .map(|e| e.field_problems().iter().map(|p| p.0.to_owned()).collect())
            .unwrap_or_default()
    }

    #[test]
    fn an_empty_request_names_every_missing_field_at_once() {
        assert_eq!(
            fields_of(&request(RequestKind::Loan)),
            ["category_id", "quantity", "loan_start", "loan_due"]
        );
        assert_eq!(
            fields_of(&request(RequestKind::Purchase)),
            ["category_id", "quantity", "budget_fen", "reason"]
        );
        let mut l = request(RequestKind::Loan);
        l.loan_start = Some("tomorrow".into());
        l.quantity = Some(0);
        // An unreadable date is blamed once, for what it is.
        assert_eq!(
            fields_of(&l),
            ["loan_start", "category_id", "loan_due", "quantity"]
        );
    }

    #[test]
    fn a_loan_starts_today_or_later() {
        let mut l = request(RequestKind::Loan);
        l.asset_ids = Some(vec![1]);
        l.loan_start = Some("2023-12-31".into());
        l.loan_due = Some("2024-01-02".into());
        let e = l.check_on(TODAY).err();
        assert_eq!(
            e.as_ref().map(|e| e.text(crate::i18n::Lang::Zh)).as_deref(),
            Some("借用开始日期不能早于今天（2024-01-01）")
        );
        assert_eq!(e.and_then(|e| e.field).as_deref(), Some("loan_start"));
        l.loan_start = Some(TODAY.into());
        assert!(l.check_on(TODAY).is_ok());
    }

    #[test]
    fn request_checks_name_the_missing_or_bad_field() {
        let mut p = request(RequestKind::Purchase);
        assert_eq!(field_of(&p), Some("category_id".into()));
        p.category_id = Some(1);
        p.quantity = Some(2);
        p.budget_fen = Some(100);
        assert_eq!(field_of(&p), Some("reason".into()));
        p.reason = Some("  新办公室  ".into());
        assert_eq!(
            p.check_on(TODAY).ok().and_then(|c| c.reason),
            Some("新办公室".into())
        );
        p.budget_fen = Some(-1);
        assert_eq!(field_of(&p), Some("budget_fen".into()));

        let mut l = request(RequestKind::Loan);
        l.asset_ids = Some(vec![1]);
        l.loan_start = Some("2024-05-02".into());
        l.loan_due = Some("2024-05-01".into());
        assert_eq!(field_of(&l), Some("loan_due".into()));
        l.asset_ids = Some(vec![1, 1]);
        assert_eq!(field_of(&l), Some("asset_ids".into()));

        let mut t = request(RequestKind::Transfer);
        assert_eq!(field_of(&t), Some("asset_ids".into()));
        t.asset_ids = Some(vec![3]);
        t.quantity = Some(0);
        assert_eq!(field_of(&t), Some("quantity".into()));
    }

    #[test]
    fn a_step_names_all_its_missing_figures() {
        let empty = StepBody::Procure {
            supplier: " ".into(),
            contract_number: String::new(),
            unit_price_fen: Some(-1),
            line_prices: None,
            purchased_on: Some("someday".into()),
            comment: None,
        };
        let fields: Vec<String> = empty
            .check()
            .err()
            .map(|e| e.field_problems().iter().map(|p| p.0.to_owned()).collect())
            .unwrap_or_default();
        assert_eq!(
            fields,
            [
                "supplier",
                "contract_number",
                "unit_price_fen",
                "purchased_on"
            ]
        );
        assert!(StepBody::Approve { comment: None }.check().is_ok());
        assert_eq!(
            step_text("contract_number", &"8".repeat(101))
                .err()
                .map(|e| e.text(crate::i18n::Lang::Zh)),
            Some("合同号不能超过 100 个字".into())
        );
    }

    #[test]
    fn requests_short_of_stock_are_not_approved() {
        let short = StockCheck::new(5, 9999, 44);
        assert_eq!(short.short_by, 9955);
        let e = short.approvable(3, "椅子").err();
        assert_eq!(e.as_ref().map(|e| e.code), Some("short_of_stock"));
        assert_eq!(
            e.map(|e| e.text(crate::i18n::Lang::Zh)).as_deref(),
            Some("申请（编号 3）需要椅子 9999 件，在库仅 44 件，库存不足；待到货入库后再批准")
        );
        assert!(StockCheck::new(5, 44, 44).approvable(3, "椅子").is_ok());
        use RequestKind::*;
        assert_eq!(
            served_by_category(Loan, Stage::Approval, Some(5), Some(3), false),
            Some((5, 3))
        );
        assert_eq!(
            served_by_category(Loan, Stage::Approval, Some(5), Some(3), true),
            None
        );
        assert_eq!(
            served_by_category(Purchase, Stage::Approval, Some(5), Some(3), false),
            None
        );
        assert_eq!(
            served_by_category(Allocation, Stage::Receipt, Some(5), Some(3), false),
            None
        );
    }

    #[test]
    fn only_the_approver_extends_a_loan_and_it_stays_at_its_stage() {
        use RequestKind::*;
        use Stage as S;
        let ext = |kind, stage, role| step(kind, stage, StepKind::Extend, role, Route::default());
        for stage in [S::Checkout, S::Receipt, S::OnLoan] {
            assert_eq!(ext(Loan, stage, Role::Approver), Ok(stage), "{stage:?}");
            for role in [
                Role::UnitStaff,
                Role::Keeper,
                Role::Finance,
                Role::Administrator,
            ] {
                assert!(
                    matches!(ext(Loan, stage, role), Err(Refusal::WrongRole { .. })),
                    "{stage:?} {role:?}"
                );
            }
        }
        for stage in [S::Approval, S::Completed, S::Rejected, S::Withdrawn] {
            assert_eq!(ext(Loan, stage, Role::Approver), Err(Refusal::WrongStage));
        }
        assert_eq!(
            ext(Allocation, S::Checkout, Role::Approver),
            Err(Refusal::WrongStage)
        );
    }

    #[test]
    fn purchase_chain_in_order() {
        use RequestKind::Purchase as P;
        let s = step(
            P,
            Stage::Approval,
            StepKind::Approve,
            Role::Approver,
            Route::default(),
        );
        assert_eq!(s, Ok(Stage::Finance));
        let s = step(
            P,
            Stage::Finance,
            StepKind::Approve,
            Role::Finance,
            Route::default(),
        );
        assert_eq!(s, Ok(Stage::Procurement));
        let s = step(
            P,
            Stage::Procurement,
            StepKind::Procure,
            Role::Approver,
            Route::default(),
        );
        assert_eq!(s, Ok(Stage::Receiving));
        let s = step(
            P,
            Stage::Receiving,
            StepKind::Receive,
            Role::Keeper,
            Route::default(),
        );
        assert_eq!(s, Ok(Stage::Checkout));
    }

    #[test]
    fn beyond_the_standard_the_agency_head_approves_first() {
        let waiting = Route {
            awaiting_standard: true,
            ..Route::default()
        };
        for kind in [RequestKind::Purchase, RequestKind::Allocation] {
            let s = step(
                kind,
                Stage::Approval,
                StepKind::Approve,
                Role::Approver,
                waiting,
            );
            assert_eq!(s, Err(Refusal::NeedsStandardApproval));
            let s = step(
                kind,
                Stage::Approval,
                StepKind::ApproveOverStandard,
                Role::Approver,
                waiting,
            );
            assert_eq!(s, Ok(Stage::Approval));
            let s = step(
                kind,
                Stage::Approval,
                StepKind::ApproveOverStandard,
                Role::Keeper,
                waiting,
            );
            assert!(matches!(s, Err(Refusal::WrongRole { .. })));
            // Within the standard (or approved): nothing to approve extra.
            let s = step(
                kind,
                Stage::Approval,
                StepKind::ApproveOverStandard,
                Role::Approver,
                Route::default(),
            );
            assert_eq!(s, Err(Refusal::WithinStandard));
            let s = step(
                kind,
                Stage::Approval,
                StepKind::Approve,
                Role::Approver,
                Route::default(),
            );
            assert!(s.is_ok());
        }
        let s = step(
            RequestKind::Purchase,
            Stage::Approval,
            StepKind::Fulfil,
            Role::Approver,
            waiting,
        );
        assert_eq!(s, Err(Refusal::NeedsStandardApproval));
        // The unit may still withdraw; the approver may still reject.
        let s = step(
            RequestKind::Allocation,
            Stage::Approval,
            StepKind::Reject,
            Role::Approver,
            waiting,
        );
        assert_eq!(s, Ok(Stage::Rejected));
    }

    #[test]
    fn spending_over_budget_waits_for_finance() {
        use RequestKind::Purchase as P;
        // 3 × 6,000 against 15,000: over; 3 × 5,000: within.
        assert!(over_budget(Some(1_500_000), lines_total(&[(3, 600_000)])));
        assert!(!over_budget(Some(1_500_000), lines_total(&[(3, 500_000)])));
        assert!(over_budget(Some(1), lines_total(&[(2, i64::MAX)])));
        assert!(!over_budget(None, lines_total(&[(3, 600_000)])));
        // Several lines: the sum counts.
        assert!(over_budget(
            Some(1_000_000),
            lines_total(&[(1, 600_000), (1, 500_000)])
        ));
        assert!(!over_budget(
            Some(1_100_000),
            lines_total(&[(1, 600_000), (1, 500_000)])
        ));
        assert_eq!(lines_total(&[(1, i64::MAX), (1, 1)]), None);
        let over = Route {
            over_budget: true,
            ..Route::default()
        };
        let s = step(
            P,
            Stage::Procurement,
            StepKind::Procure,
            Role::Approver,
            over,
        );
        assert_eq!(s, Ok(Stage::OverBudget));
        assert_eq!(Stage::OverBudget.awaiting(), Some(Role::Finance));
        let s = step(P, Stage::OverBudget, StepKind::Approve, Role::Finance, over);
        assert_eq!(s, Ok(Stage::Receiving));
        let s = step(
            P,
            Stage::OverBudget,
            StepKind::Approve,
            Role::Approver,
            over,
        );
        assert!(matches!(s, Err(Refusal::WrongRole { .. })));
        // Nothing is received before finance decides.
        let s = step(P, Stage::OverBudget, StepKind::Receive, Role::Keeper, over);
        assert_eq!(s, Err(Refusal::WrongStage));
        let s = step(P, Stage::OverBudget, StepKind::Reject, Role::Finance, over);
        assert_eq!(s, Ok(Stage::Rejected));
    }

    #[test]
    fn a_purchase_for_the_warehouse_completes_at_receiving() {
        use RequestKind::Purchase as P;
        let stock = Route {
            to_warehouse: true,
            ..Route::default()
        };
        let s = step(P, Stage::Receiving, StepKind::Receive, Role::Keeper, stock);
        assert_eq!(s, Ok(Stage::Completed));
        let s = step(
            P,
            Stage::Receiving,
            StepKind::Receive,
            Role::Keeper,
            Route::default(),
        );
        assert_eq!(s, Ok(Stage::Checkout));
        // Fulfilling from stock hands items to a unit: not for stock.
        let s = step(P, Stage::Approval, StepKind::Fulfil, Role::Approver, stock);
        assert_eq!(s, Err(Refusal::WrongStage));
        // Over budget still waits for finance.
        let both = Route {
            over_budget: true,
            ..stock
        };
        let s = step(
            P,
            Stage::Procurement,
            StepKind::Procure,
            Role::Approver,
            both,
        );
        assert_eq!(s, Ok(Stage::OverBudget));
        assert!(may_file(Role::Keeper, P) && may_file(Role::UnitStaff, P));
        assert!(!may_file(Role::Approver, P));
        let mut l = request(RequestKind::Loan);
        l.asset_ids = Some(vec![1]);
        l.loan_start = Some(TODAY.into());
        l.loan_due = Some(TODAY.into());
        l.destination = Some(Destination::Warehouse);
        assert_eq!(field_of(&l), Some("destination".into()));
    }

    #[test]
    fn a_combined_procurement_prices_each_request_once() {
        let line = |request_id, unit_price_fen| ProcurementLine {
            request_id,
            unit_price_fen,
        };
        let mut p = NewProcurement {
            request_ids: vec![3, 1, 2],
            supplier: "某公司".into(),
            contract_number: "ZC-1".into(),
            purchased_on: None,
            lines: vec![line(1, 100), line(2, 200), line(3, 300)],
            comment: None,
        };
        assert_eq!(p.prices().ok(), Some(vec![(3, 300), (1, 100), (2, 200)]));
        let fault = |p: &NewProcurement| p.prices().err().map(|e| (e.code, e.field));
        p.lines.pop();
        assert_eq!(fault(&p), Some(("invalid", Some("lines".into()))));
        p.lines.push(line(3, 300));
        p.lines.push(line(4, 1));
        assert_eq!(fault(&p), Some(("invalid", Some("lines".into()))));
        p.lines.pop();
        p.lines.push(line(3, 301));
        assert_eq!(fault(&p), Some(("invalid", Some("lines".into()))));
        p.lines.pop();
        p.request_ids.push(1);
        assert_eq!(fault(&p), Some(("invalid", Some("request_ids".into()))));
        p.request_ids.clear();
        assert_eq!(fault(&p), Some(("invalid", Some("request_ids".into()))));
    }

    #[test]
    fn wrong_role_and_wrong_stage_differ() {
        use RequestKind::Loan;
        assert_eq!(
            step(
                Loan,
                Stage::Approval,
                StepKind::Approve,
                Role::Finance,
                Route::default()
            ),
            Err(Refusal::WrongRole {
                allowed: &[Role::Approver]
            })
        );
        assert_eq!(
            step(
                Loan,
                Stage::OnLoan,
                StepKind::Approve,
                Role::Approver,
                Route::default()
            ),
            Err(Refusal::WrongStage)
        );
        // Withdrawal only before the first decision.
        assert_eq!(
            step(
                Loan,
                Stage::Checkout,
                StepKind::Withdraw,
                Role::UnitStaff,
                Route::default()
            ),
            Err(Refusal::WrongStage)
        );
    }

    #[test]
    fn auction_goes_through_sale_and_remittance() {
        use RequestKind::Disposal as D;
        let auction = Some(DisposalMethod::Auction);
        let scrap = Some(DisposalMethod::Scrap);
        let f = step(
            D,
            Stage::Finance,
            StepKind::Approve,
            Role::Finance,
            auction.into(),
        );
        assert_eq!(f, Ok(Stage::Sale));
        let f = step(
            D,
            Stage::Finance,
            StepKind::Approve,
            Role::Finance,
            scrap.into(),
        );
        assert_eq!(f, Ok(Stage::Completed));
    }

    #[test]
    fn compensation_is_the_original_value_unless_a_reason_is_given() {
        let c = compensation(150_000, None, None).ok();
        assert_eq!(c.map(|c| (c.amount_fen, c.reason)), Some((150_000, None)));
        // The original value typed out needs no reason either.
        assert!(compensation(150_000, Some(150_000), Some("  ")).is_ok());
        let e = compensation(150_000, Some(90_000), None).err();
        assert_eq!(
            e.as_ref().and_then(|e| e.field.as_deref()),
            Some("amount_reason")
        );
        assert_eq!(
            e.map(|e| e.text(crate::i18n::Lang::Zh)).as_deref(),
            Some("赔偿金额默认为原值 1500.00 元；填写的是 900.00 元，其他金额须填写理由")
        );
        let c = compensation(150_000, Some(90_000), Some(" 已使用五年，按净值赔偿 ")).ok();
        assert_eq!(
            c.map(|c| (c.amount_fen, c.reason)),
            Some((90_000, Some("已使用五年，按净值赔偿".into())))
        );
        assert!(compensation(150_000, Some(-1), Some("x")).is_err());
    }

    #[test]
    fn remittance_is_the_hammer_price_less_the_fees() {
        assert_eq!(net_proceeds(26_500, 1_500).ok(), Some(25_000));
        assert_eq!(net_proceeds(26_500, 26_500).ok(), Some(0));
        let over = net_proceeds(26_500, 26_501).err();
        assert_eq!(over.and_then(|e| e.field).as_deref(), Some("fees_fen"));
        assert!(check_remittance(26_500, 1_500, 25_000).is_ok());
        assert!(check_remittance(26_500, 0, 26_500).is_ok());
        let e = check_remittance(26_500, 1_500, 26_500).err();
        assert_eq!(
            e.as_ref().map(|e| e.reason.as_ref()),
            Some(&Reason::NotNetProceeds {
                hammer_fen: 26_500,
                fees_fen: 1_500,
                expected_fen: 25_000,
                given_fen: 26_500,
            })
        );
        assert_eq!(e.and_then(|e| e.field).as_deref(), Some("amount_fen"));
    }

    #[test]
    fn a_compensated_damaged_item_is_appraised_not_written_off() {
        use Settlement::*;
        let (h, c, r) = (
            Some(Cause::Human),
            Some(Remedy::Compensate),
            Some(Remedy::Repair),
        );
        assert_eq!(settlement(h, c, false), ResidualAppraisal);
        assert_eq!(settlement(h, c, true), WriteOff);
        assert_eq!(settlement(h, r, false), Keep);
        assert_eq!(settlement(Some(Cause::Natural), None, false), WriteOff);
        assert_eq!(settlement(Some(Cause::Natural), None, true), WriteOff);
    }

    #[test]
    fn terminal_stages_take_no_steps() {
        for kind in RequestKind::ALL {
            for stage in [Stage::Completed, Stage::Rejected, Stage::Withdrawn] {
                for action in StepKind::ALL {
                    for role in [
                        Role::Administrator,
                        Role::Approver,
                        Role::Finance,
                        Role::Keeper,
                        Role::UnitStaff,
                    ] {
                        assert!(step(*kind, stage, *action, role, Route::default()).is_err());
                    }
                }
            }
        }
    }

    #[test]
    fn documents_must_be_what_they_claim() {
        assert!(check_document("application/pdf", b"%PDF-1.7 ...", 100).is_ok());
        assert!(check_document("application/pdf", b"MZ\x90\x00", 100).is_err());
        assert!(check_document("text/html", b"<html>", 100).is_err());
        assert!(check_document("image/png", b"", 100).is_err());
        let big = vec![b'%'; 200];
        let e = check_document("application/pdf", &big, 100);
        assert!(e.is_err_and(|e| e.kind == crate::error::ErrorKind::PayloadTooLarge));
        assert_eq!(
            clean_filename("../../etc/pass\"wd").ok().as_deref(),
            Some("passwd")
        );
        assert!(clean_filename("/").is_err());
    }
}
