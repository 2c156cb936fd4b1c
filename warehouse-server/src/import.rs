//! Importing a register from a spreadsheet (台账导入, issue 17): reading
//! the file (.xlsx/.xls/.ods by `calamine`, CSV in UTF-8 with or without a
//! BOM, or GBK/GB18030 as Chinese Excel saves it), recognising the columns
//! by their Chinese or English headings, and checking every row — pure.
//! What needs the database (units, categories, locations, assets already
//! registered) is checked by `store::import`, which reports its problems in
//! the same [`Problem`] shape, then stores the rows in one transaction.

use std::collections::{BTreeMap, HashMap};

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::{AppResult, Reason};
use crate::i18n::Lang;

/// The largest register file taken (an .xlsx of 100,000 rows is about
/// 5 MB; a CSV of them about 15 MB).
pub const MAX_REGISTER_BYTES: usize = 64 * 1024 * 1024;

/// A register column the import understands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Field {
    AssetNumber,
    Name,
    Category,
    Model,
    OriginalValue,
    PurchaseDate,
    Unit,
    Location,
    Custodian,
    FundingSource,
    Notes,
}

impl Field {
    pub const ALL: [Field; 11] = [
        Field::AssetNumber,
        Field::Name,
        Field::Category,
        Field::Model,
        Field::OriginalValue,
        Field::PurchaseDate,
        Field::Unit,
        Field::Location,
        Field::Custodian,
        Field::FundingSource,
        Field::Notes,
    ];

    /// The key a mapping names it by (the API's field names).
    pub fn key(self) -> &'static str {
        match self {
            Field::AssetNumber => "asset_number",
            Field::Name => "name",
            Field::Category => "category",
            Field::Model => "model",
            Field::OriginalValue => "original_value",
            Field::PurchaseDate => "purchase_date",
            Field::Unit => "unit",
            Field::Location => "location",
            Field::Custodian => "custodian",
            Field::FundingSource => "funding_source",
            Field::Notes => "notes",
        }
    }

    pub fn parse(key: &str) -> Option<Field> {
        Field::ALL.into_iter().find(|f| f.key() == key)
    }

    /// The heading a government register gives it.
    pub fn zh(self) -> &'static str {
        match self {
            Field::AssetNumber => "资产编号",
            Field::Name => "资产名称",
            Field::Category => "分类",
            Field::Model => "规格型号",
            Field::OriginalValue => "原值",
            Field::PurchaseDate => "取得日期",
            Field::Unit => "使用单位",
            Field::Location => "存放地点",
            Field::Custodian => "保管人",
            Field::FundingSource => "经费来源",
            Field::Notes => "备注",
        }
    }

    pub fn en(self) -> &'static str {
        match self {
            Field::AssetNumber => "Asset number",
            Field::Name => "Name",
            Field::Category => "Category",
            Field::Model => "Model",
            Field::OriginalValue => "Original value",
            Field::PurchaseDate => "Acquired on",
            Field::Unit => "Unit",
            Field::Location => "Location",
            Field::Custodian => "Custodian",
            Field::FundingSource => "Funding source",
            Field::Notes => "Notes",
        }
    }

    pub fn label(self, lang: Lang) -> &'static str {
        match lang {
            Lang::Zh => self.zh(),
            Lang::En => self.en(),
        }
    }

    /// Headings registers use for it, compared after [`normalise`].
    fn synonyms(self) -> &'static [&'static str] {
        match self {
            Field::AssetNumber => &[
                "资产编号",
                "资产编码",
                "资产代码",
                "资产卡片编号",
                "卡片编号",
                "编号",
                "assetnumber",
                "assetno",
                "number",
            ],
            Field::Name => &["资产名称", "名称", "品名", "name", "assetname"],
            Field::Category => &[
                "分类",
                "资产分类",
                "分类名称",
                "分类代码",
                "资产类别",
                "类别",
                "category",
            ],
            Field::Model => &["规格型号", "型号", "规格", "model", "specification"],
            Field::OriginalValue => &[
                "原值",
                "原值元",
                "资产原值",
                "价值",
                "金额",
                "单价",
                "originalvalue",
                "originalvalueyuan",
                "value",
            ],
            Field::PurchaseDate => &[
                "取得日期",
                "购置日期",
                "购买日期",
                "入账日期",
                "acquiredon",
                "purchasedate",
                "date",
            ],
            Field::Unit => &[
                "使用单位",
                "使用部门",
                "领用单位",
                "所属单位",
                "unit",
                "holderunit",
            ],
            Field::Location => &["存放地点", "存放位置", "库位", "location", "holderlocation"],
            Field::Custodian => &["保管人", "使用人", "责任人", "custodian"],
            Field::FundingSource => &["经费来源", "资金来源", "fundingsource"],
            Field::Notes => &["备注", "说明", "notes", "remarks"],
        }
    }

    pub fn required(self) -> bool {
        matches!(
            self,
            Field::AssetNumber | Field::Name | Field::Category | Field::OriginalValue
        )
    }
}

/// A heading as compared: no spaces, no brackets or "元"/"(yuan)" units,
/// lower case.
fn normalise(h: &str) -> String {
    h.chars()
        .filter(|c| !c.is_whitespace() && !"()（）[]【】*：:_-/".contains(*c) && *c != '\u{feff}')
        .collect::<String>()
        .to_lowercase()
        .replace("yuan", "")
}

/// Which field a file's heading is, by name and synonym.
pub fn recognise(heading: &str) -> Option<Field> {
    let h = normalise(heading);
    if h.is_empty() {
        return None;
    }
    let h = h.strip_suffix('元').unwrap_or(&h).to_owned();
    Field::ALL
        .into_iter()
        .find(|f| f.synonyms().iter().any(|s| normalise(s) == h))
}

/// One cell as read from the file.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Empty,
    Text(String),
    Number(f64),
    Date(NaiveDate),
}

impl Cell {
    /// The value as a problem list shows it.
    pub fn shown(&self) -> String {
        match self {
            Cell::Empty => String::new(),
            Cell::Text(s) => s.clone(),
            Cell::Number(n) => {
                if n.fract() == 0.0 && n.abs() < 1e15 {
                    format!("{}", *n as i64)
                } else {
                    n.to_string()
                }
            }
            Cell::Date(d) => d.format("%Y-%m-%d").to_string(),
        }
    }

    fn text(&self) -> Option<String> {
        match self {
            Cell::Empty => None,
            other => {
                let s = other.shown().trim().to_owned();
                (!s.is_empty()).then_some(s)
            }
        }
    }
}

/// A sheet: its headings and rows, each with its row number as the
/// spreadsheet shows it (1-based).
#[derive(Debug, Clone)]
pub struct Table {
    pub headings: Vec<String>,
    pub header_row: usize,
    pub rows: Vec<(usize, Vec<Cell>)>,
}

fn not_a_sheet(file: &str, detail: impl Into<String>) -> crate::error::AppError {
    Reason::NotASpreadsheet {
        file: file.into(),
        detail: detail.into(),
    }
    .into()
}

/// Reads the first sheet of a workbook, or a CSV file. The first row with
/// any text is the heading row; empty rows are skipped.
pub fn read_table(file: &str, bytes: &[u8]) -> AppResult<Table> {
    let grid = if bytes.starts_with(b"PK\x03\x04") || bytes.starts_with(&[0xD0, 0xCF, 0x11, 0xE0]) {
        read_workbook(file, bytes)?
    } else {
        read_csv(file, bytes)?
    };
    let mut rows = grid
        .into_iter()
        .filter(|(_, cells)| cells.iter().any(|c| c.text().is_some()));
    let (header_row, header) = rows
        .next()
        .ok_or_else(|| not_a_sheet(file, "the sheet has no rows"))?;
    let headings = header
        .iter()
        .map(|c| c.text().unwrap_or_default())
        .collect();
    // A totals row (合计, as registers and our own export end) is no asset.
    let totals = |cells: &[Cell]| {
        cells
            .iter()
            .find_map(Cell::text)
            .is_some_and(|t| ["合计", "总计", "小计", "total"].contains(&t.to_lowercase().as_str()))
    };
    Ok(Table {
        headings,
        header_row,
        rows: rows.filter(|(_, cells)| !totals(cells)).collect(),
    })
}

type Grid = Vec<(usize, Vec<Cell>)>;

fn read_workbook(file: &str, bytes: &[u8]) -> AppResult<Grid> {
    use calamine::{Data, Reader};
    let mut book = calamine::open_workbook_auto_from_rs(std::io::Cursor::new(bytes))
        .map_err(|e| not_a_sheet(file, e.to_string()))?;
    let range = book
        .worksheet_range_at(0)
        .ok_or_else(|| not_a_sheet(file, "the workbook has no sheet"))?
        .map_err(|e| not_a_sheet(file, e.to_string()))?;
    let first = range.start().map_or(0, |(r, _)| r as usize);
    let first_col = range.start().map_or(0, |(_, c)| c as usize);
    Ok(range
        .rows()
        .enumerate()
        .map(|(i, row)| {
            let mut cells = vec![Cell::Empty; first_col];
            cells.extend(row.iter().map(|d| {
                match d {
                    Data::Empty | Data::Error(_) => Cell::Empty,
                    Data::String(s) => Cell::Text(s.clone()),
                    Data::Int(n) => Cell::Number(*n as f64),
                    Data::Float(f) => Cell::Number(*f),
                    Data::Bool(b) => Cell::Text(b.to_string()),
                    Data::DateTime(dt) => dt
                        .as_datetime()
                        .map(|t| Cell::Date(t.date()))
                        .unwrap_or(Cell::Number(dt.as_f64())),
                    Data::DateTimeIso(s) | Data::DurationIso(s) => Cell::Text(s.clone()),
                }
            }));
            (first + i + 1, cells)
        })
        .collect())
}

/// CSV text: UTF-8 (a BOM is dropped), else GB18030 (a superset of GBK);
/// binary bytes (NUL) are no CSV.
fn read_csv(file: &str, bytes: &[u8]) -> AppResult<Grid> {
    if bytes.contains(&0) {
        return Err(not_a_sheet(file, "binary data that is no workbook"));
    }
    let body = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let text = match std::str::from_utf8(body) {
        Ok(s) => std::borrow::Cow::Borrowed(s),
        Err(_) => {
            let (s, _, bad) = encoding_rs::GB18030.decode(body);
            if bad {
                return Err(not_a_sheet(file, "text neither UTF-8 nor GBK"));
            }
            s
        }
    };
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    let mut grid = Vec::new();
    for (i, rec) in reader.records().enumerate() {
        let rec = rec.map_err(|e| not_a_sheet(file, e.to_string()))?;
        grid.push((
            i + 1,
            rec.iter()
                .map(|s| {
                    if s.trim().is_empty() {
                        Cell::Empty
                    } else {
                        Cell::Text(s.to_owned())
                    }
                })
                .collect(),
        ));
    }
    Ok(grid)
}

/// Why a row (or the heading row) cannot be imported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Why {
    /// A required field is empty.
    Missing,
    /// A required field has no column.
    ColumnMissing,
    /// A mapping names a field the import does not know.
    UnknownField,
    /// Two columns are mapped to one field.
    ColumnTwice {
        other: String,
    },
    BadAssetNumber,
    TooLong {
        max: usize,
    },
    /// Not an amount in yuan.
    BadMoney,
    /// More than two decimals.
    MoneyFraction,
    Negative,
    TooLarge,
    BadDate,
    /// The same asset number on an earlier row.
    DuplicateNumber {
        first_row: usize,
    },
    UnknownCategory,
    UnknownUnit,
    UnknownLocation,
    /// A location name in several warehouses.
    AmbiguousLocation,
    /// Neither a unit nor a location.
    NoHolder,
    /// The asset is registered with another holder; moves go through
    /// requests, not an import.
    HolderDiffers {
        registered: String,
    },
    /// The asset is registered and no longer in use (disposed, lost…).
    NotInUse,
    /// Outside what the importing person may register.
    NotAllowed,
}

impl Why {
    /// The stable code the API gives it.
    pub fn code(&self) -> &'static str {
        match self {
            Why::Missing => "missing",
            Why::ColumnMissing => "column_missing",
            Why::UnknownField => "unknown_field",
            Why::ColumnTwice { .. } => "column_twice",
            Why::BadAssetNumber => "bad_asset_number",
            Why::TooLong { .. } => "too_long",
            Why::BadMoney => "bad_money",
            Why::MoneyFraction => "money_fraction",
            Why::Negative => "negative",
            Why::TooLarge => "too_large",
            Why::BadDate => "bad_date",
            Why::DuplicateNumber { .. } => "duplicate_number",
            Why::UnknownCategory => "unknown_category",
            Why::UnknownUnit => "unknown_unit",
            Why::UnknownLocation => "unknown_location",
            Why::AmbiguousLocation => "ambiguous_location",
            Why::NoHolder => "no_holder",
            Why::HolderDiffers { .. } => "holder_differs",
            Why::NotInUse => "not_in_use",
            Why::NotAllowed => "not_allowed",
        }
    }

    pub fn zh(&self) -> String {
        match self {
            Why::Missing => "必填项为空".into(),
            Why::ColumnMissing => "表中没有这一列（必填），请在列对应中选择".into(),
            Why::UnknownField => "列对应指定了不认识的字段".into(),
            Why::ColumnTwice { other } => format!("与「{other}」列对应到同一字段"),
            Why::BadAssetNumber => "资产编号只能由字母、数字和 - _ . 组成，最长 40 个字符".into(),
            Why::TooLong { max } => format!("超过 {max} 个字"),
            Why::BadMoney => "不是金额（应为元，如 1,234.50）".into(),
            Why::MoneyFraction => "金额最多两位小数".into(),
            Why::Negative => "金额不能为负数".into(),
            Why::TooLarge => "金额过大".into(),
            Why::BadDate => "日期无法识别（应为 2021-03-05、2021/3/5 或 2021年3月5日）".into(),
            Why::DuplicateNumber { first_row } => {
                format!("资产编号与第 {first_row} 行重复")
            }
            Why::UnknownCategory => "系统中没有这个分类（按名称或代码）".into(),
            Why::UnknownUnit => "系统中没有这个使用单位".into(),
            Why::UnknownLocation => "仓库中没有这个存放地点".into(),
            Why::AmbiguousLocation => "多个仓库都有这个存放地点，请选择导入的仓库".into(),
            Why::NoHolder => "使用单位和存放地点都为空（在库资产须填存放地点）".into(),
            Why::HolderDiffers { registered } => format!(
                "台账中该资产现由「{registered}」保管；调配和移库请走申请流程，导入不改保管方"
            ),
            Why::NotInUse => "台账中该资产已不在用（已处置、丢失等），导入不改".into(),
            Why::NotAllowed => "您无权在该单位或仓库登记资产".into(),
        }
    }

    pub fn en(&self) -> String {
        match self {
            Why::Missing => "required and empty".into(),
            Why::ColumnMissing => "no column for this required field; map one".into(),
            Why::UnknownField => "the mapping names an unknown field".into(),
            Why::ColumnTwice { other } => format!("mapped to the same field as column `{other}`"),
            Why::BadAssetNumber => "asset numbers are 1-40 letters, digits, '-', '_' or '.'".into(),
            Why::TooLong { max } => format!("longer than {max} characters"),
            Why::BadMoney => "not an amount in yuan (e.g. 1,234.50)".into(),
            Why::MoneyFraction => "more than two decimals".into(),
            Why::Negative => "negative amount".into(),
            Why::TooLarge => "amount too large".into(),
            Why::BadDate => "not a date (2021-03-05, 2021/3/5 or 2021年3月5日)".into(),
            Why::DuplicateNumber { first_row } => {
                format!("same asset number as row {first_row}")
            }
            Why::UnknownCategory => "no such category (by name or code)".into(),
            Why::UnknownUnit => "no such unit".into(),
            Why::UnknownLocation => "no such location in the warehouse".into(),
            Why::AmbiguousLocation => {
                "a location of that name is in several warehouses; choose the warehouse".into()
            }
            Why::NoHolder => "neither a unit nor a location".into(),
            Why::HolderDiffers { registered } => format!(
                "registered as held by `{registered}`; moves go through requests, not imports"
            ),
            Why::NotInUse => "registered and no longer in use (disposed, lost…)".into(),
            Why::NotAllowed => "you may not register assets for that unit or warehouse".into(),
        }
    }

    pub fn text(&self, lang: Lang) -> String {
        match lang {
            Lang::Zh => self.zh(),
            Lang::En => self.en(),
        }
    }
}

/// One problem: where (row as the spreadsheet numbers it, column heading),
/// the value and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[schema(as = ImportProblem)]
pub struct Problem {
    pub row: usize,
    pub column: String,
    pub value: String,
    /// Why, as a stable code (`bad_money`, `unknown_unit`,
    /// `duplicate_number`, `bad_date`, …).
    pub code: String,
    /// Why, in Chinese, as the page shows it.
    pub message: String,
    pub message_en: String,
    #[serde(skip)]
    #[schema(ignore)]
    pub why: Why,
}

impl Problem {
    pub fn new(row: usize, column: impl Into<String>, value: impl Into<String>, why: Why) -> Self {
        Problem {
            row,
            column: column.into(),
            value: value.into(),
            code: why.code().to_owned(),
            message: why.zh(),
            message_en: why.en(),
            why,
        }
    }
}

/// Overrides of the column mapping: a file heading → a field key
/// (`asset_number`, `name`, …), or "" to ignore the column.
pub type Mapping = BTreeMap<String, String>;

/// Each column's field, by the overrides first, else recognised by its
/// heading; and the problems of the mapping (on the heading row).
pub fn map_columns(t: &Table, overrides: &Mapping) -> (Vec<Option<Field>>, Vec<Problem>) {
    let mut problems = Vec::new();
    let columns: Vec<Option<Field>> = t
        .headings
        .iter()
        .map(|h| match overrides.get(h) {
            Some(k) if k.is_empty() => None,
            Some(k) => {
                let f = Field::parse(k);
                if f.is_none() {
                    problems.push(Problem::new(t.header_row, h, k, Why::UnknownField));
                }
                f
            }
            None => recognise(h),
        })
        .collect();
    let mut first: HashMap<Field, usize> = HashMap::new();
    for (i, f) in columns.iter().enumerate() {
        if let Some(f) = f {
            if let Some(j) = first.get(f) {
                problems.push(Problem::new(
                    t.header_row,
                    &t.headings[i],
                    f.zh(),
                    Why::ColumnTwice {
                        other: t.headings[*j].clone(),
                    },
                ));
            } else {
                first.insert(*f, i);
            }
        }
    }
    for f in Field::ALL {
        if f.required() && !first.contains_key(&f) {
            problems.push(Problem::new(t.header_row, f.zh(), "", Why::ColumnMissing));
        }
    }
    (columns, problems)
}

/// One row as read and checked, ready for the register checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub row: usize,
    pub asset_number: String,
    pub name: String,
    pub category: String,
    pub model: Option<String>,
    pub original_value_fen: i64,
    pub purchase_date: Option<String>,
    pub unit: Option<String>,
    pub location: Option<String>,
    pub custodian: Option<String>,
    pub funding_source: Option<String>,
    pub notes: Option<String>,
}

/// The heading of `field`'s column (for problems), and the column's index.
pub struct Columns<'a> {
    table: &'a Table,
    index: HashMap<Field, usize>,
}

impl<'a> Columns<'a> {
    pub fn new(table: &'a Table, columns: &[Option<Field>]) -> Self {
        let mut index = HashMap::new();
        for (i, f) in columns.iter().enumerate() {
            if let Some(f) = f {
                index.entry(*f).or_insert(i);
            }
        }
        Columns { table, index }
    }

    pub fn heading(&self, f: Field) -> String {
        self.index
            .get(&f)
            .and_then(|i| self.table.headings.get(*i))
            .cloned()
            .unwrap_or_else(|| f.zh().to_owned())
    }

    fn cell<'c>(&self, cells: &'c [Cell], f: Field) -> &'c Cell {
        self.index
            .get(&f)
            .and_then(|i| cells.get(*i))
            .unwrap_or(&Cell::Empty)
    }
}

impl std::fmt::Debug for Columns<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Columns")
            .field("index", &self.index)
            .finish()
    }
}

/// Yuan from a cell: a number, or text such as "1,234.50", "¥1234.5 元".
pub fn money_fen(cell: &Cell) -> Result<i64, Why> {
    let fen = match cell {
        Cell::Number(n) => {
            if !n.is_finite() {
                return Err(Why::BadMoney);
            }
            let f = n * 100.0;
            if (f - f.round()).abs() > 1e-6 * f.abs().max(1.0) {
                return Err(Why::MoneyFraction);
            }
            if f < 0.0 {
                return Err(Why::Negative);
            }
            if f > crate::money::MAX_FEN as f64 {
                return Err(Why::TooLarge);
            }
            f.round() as i64
        }
        Cell::Text(s) => {
            let clean: String = s
                .trim()
                .chars()
                .filter(|c| !c.is_whitespace() && !"¥￥元".contains(*c))
                .collect();
            if clean.starts_with('-') {
                return Err(Why::Negative);
            }
            if clean
                .split_once('.')
                .is_some_and(|(_, f)| f.len() > 2 && f.bytes().all(|b| b.is_ascii_digit()))
            {
                return Err(Why::MoneyFraction);
            }
            crate::money::parse_yuan("original_value", &clean).map_err(|_| {
                let digits = clean.bytes().any(|b| b.is_ascii_digit())
                    && clean
                        .bytes()
                        .all(|b| b.is_ascii_digit() || b == b'.' || b == b',');
                if digits {
                    Why::TooLarge
                } else {
                    Why::BadMoney
                }
            })?
        }
        Cell::Date(_) => return Err(Why::BadMoney),
        Cell::Empty => return Err(Why::Missing),
    };
    Ok(fen)
}

/// A date from a cell: a date cell, an Excel serial number, or text
/// 2021-03-05 / 2021/3/5 / 2021.3.5 / 2021年3月5日.
pub fn date(cell: &Cell) -> Result<Option<NaiveDate>, Why> {
    let d = match cell {
        Cell::Empty => return Ok(None),
        Cell::Date(d) => *d,
        Cell::Number(n) => {
            if !(1.0..=2_958_465.0).contains(n) || n.fract() != 0.0 {
                return Err(Why::BadDate);
            }
            NaiveDate::from_ymd_opt(1899, 12, 30)
                .and_then(|e| e.checked_add_days(chrono::Days::new(*n as u64)))
                .ok_or(Why::BadDate)?
        }
        Cell::Text(s) => {
            let s = s.trim();
            let s = s.split_whitespace().next().unwrap_or(s);
            ["%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y年%m月%d日"]
                .iter()
                .find_map(|f| NaiveDate::parse_from_str(s, f).ok())
                .ok_or(Why::BadDate)?
        }
    };
    if !(1900..=2999).contains(&chrono::Datelike::year(&d)) {
        return Err(Why::BadDate);
    }
    Ok(Some(d))
}

/// Checks every row on its own (required fields, numbers, amounts, dates,
/// lengths, numbers twice in the file); returns the good rows and every
/// problem. A row with a problem is left out of the rows.
pub fn check_rows(t: &Table, columns: &[Option<Field>]) -> (Vec<Row>, Vec<Problem>) {
    let cols = Columns::new(t, columns);
    let mut problems = Vec::new();
    let mut rows = Vec::with_capacity(t.rows.len());
    let mut seen: HashMap<String, usize> = HashMap::with_capacity(t.rows.len());
    for (row, cells) in &t.rows {
        let before = problems.len();
        let mut problem = |f: Field, cell: &Cell, why: Why| {
            problems.push(Problem::new(*row, cols.heading(f), cell.shown(), why));
        };
        let mut text = |f: Field, max: usize| -> Option<String> {
            let cell = cols.cell(cells, f);
            let s = cell.text();
            match &s {
                None if f.required() => problem(f, cell, Why::Missing),
                Some(v) if v.chars().count() > max => problem(f, cell, Why::TooLong { max }),
                _ => {}
            }
            s
        };
        let number = text(Field::AssetNumber, 40).unwrap_or_default();
        let name = text(Field::Name, 200).unwrap_or_default();
        let category = text(Field::Category, 200).unwrap_or_default();
        let model = text(Field::Model, 200);
        let unit = text(Field::Unit, 200);
        let location = text(Field::Location, 200);
        let custodian = text(Field::Custodian, 100);
        let funding_source = text(Field::FundingSource, 200);
        let notes = text(Field::Notes, 2000);
        if !number.is_empty() {
            if crate::register::check_asset_number(&number).is_err() {
                problems.push(Problem::new(
                    *row,
                    cols.heading(Field::AssetNumber),
                    &number,
                    Why::BadAssetNumber,
                ));
            } else if let Some(first_row) = seen.get(&number) {
                problems.push(Problem::new(
                    *row,
                    cols.heading(Field::AssetNumber),
                    &number,
                    Why::DuplicateNumber {
                        first_row: *first_row,
                    },
                ));
            } else {
                seen.insert(number.clone(), *row);
            }
        }
        let value_cell = cols.cell(cells, Field::OriginalValue);
        let fen = match money_fen(value_cell) {
            Ok(f) => f,
            Err(why) => {
                problems.push(Problem::new(
                    *row,
                    cols.heading(Field::OriginalValue),
                    value_cell.shown(),
                    why,
                ));
                0
            }
        };
        let date_cell = cols.cell(cells, Field::PurchaseDate);
        let purchase_date = match date(date_cell) {
            Ok(d) => d.map(|d| d.format("%Y-%m-%d").to_string()),
            Err(why) => {
                problems.push(Problem::new(
                    *row,
                    cols.heading(Field::PurchaseDate),
                    date_cell.shown(),
                    why,
                ));
                None
            }
        };
        if unit.is_none() && location.is_none() {
            problems.push(Problem::new(
                *row,
                cols.heading(Field::Location),
                "",
                Why::NoHolder,
            ));
        }
        if problems.len() == before {
            rows.push(Row {
                row: *row,
                asset_number: number,
                name,
                category,
                model,
                original_value_fen: fen,
                purchase_date,
                unit,
                location,
                custodian,
                funding_source,
                notes,
            });
        }
    }
    (rows, problems)
}

/// What a dry run or an import found and did.
#[derive(Debug, Clone, Default, Serialize, ToSchema)]
#[schema(as = ImportOutcome)]
pub struct Outcome {
    /// Data rows read (the heading row not counted).
    pub rows: usize,
    /// Rows that would be (dry run) or were registered as new assets.
    pub created: usize,
    /// Rows that change a registered asset (each change recorded in its
    /// history).
    pub updated: usize,
    /// Rows equal to the register: nothing to do.
    pub unchanged: usize,
    /// True: nothing was stored.
    pub dry_run: bool,
    /// Each column heading of the file and the field it was taken as
    /// (null: ignored).
    pub columns: Vec<ColumnUse>,
    /// Every problem, by row then column; any problem: nothing stored.
    pub problems: Vec<Problem>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[schema(as = ImportColumn)]
pub struct ColumnUse {
    pub heading: String,
    pub field: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> Cell {
        Cell::Text(s.into())
    }

    #[test]
    fn headings_are_recognised_with_synonyms() {
        assert_eq!(recognise("资产编号"), Some(Field::AssetNumber));
        assert_eq!(recognise(" 原值（元） "), Some(Field::OriginalValue));
        assert_eq!(recognise("原值(元)"), Some(Field::OriginalValue));
        assert_eq!(recognise("购置日期"), Some(Field::PurchaseDate));
        assert_eq!(recognise("Asset number"), Some(Field::AssetNumber));
        assert_eq!(recognise("original_value_yuan"), Some(Field::OriginalValue));
        assert_eq!(recognise("使用部门"), Some(Field::Unit));
        assert_eq!(recognise("颜色"), None);
    }

    #[test]
    fn money_reads_numbers_and_typed_yuan() {
        assert_eq!(money_fen(&Cell::Number(1234.5)), Ok(123_450));
        assert_eq!(money_fen(&Cell::Number(0.07)), Ok(7));
        assert_eq!(money_fen(&t("1,234.50")), Ok(123_450));
        assert_eq!(money_fen(&t("￥88 元")), Ok(8800));
        assert_eq!(money_fen(&t("-5")), Err(Why::Negative));
        assert_eq!(money_fen(&Cell::Number(-5.0)), Err(Why::Negative));
        assert_eq!(money_fen(&t("12.345")), Err(Why::MoneyFraction));
        assert_eq!(money_fen(&Cell::Number(1.005)), Err(Why::MoneyFraction));
        assert_eq!(money_fen(&t("一千")), Err(Why::BadMoney));
        assert_eq!(money_fen(&Cell::Empty), Err(Why::Missing));
    }

    #[test]
    fn dates_read_cells_serials_and_three_text_forms() {
        let d = NaiveDate::from_ymd_opt(2021, 3, 5);
        assert_eq!(date(&t("2021-03-05")), Ok(d));
        assert_eq!(date(&t("2021/3/5")), Ok(d));
        assert_eq!(date(&t("2021年3月5日")), Ok(d));
        assert_eq!(date(&Cell::Number(44260.0)), Ok(d));
        assert_eq!(date(&Cell::Empty), Ok(None));
        assert_eq!(date(&t("2021-02-30")), Err(Why::BadDate));
        assert_eq!(date(&t("去年")), Err(Why::BadDate));
    }

    #[test]
    fn csv_in_utf8_with_bom_and_in_gbk_reads_the_same() -> AppResult<()> {
        let text = "资产编号,资产名称\r\nA-1,椅子\r\n";
        let mut bom = b"\xEF\xBB\xBF".to_vec();
        bom.extend_from_slice(text.as_bytes());
        let (gbk, _, _) = encoding_rs::GBK.encode(text);
        for bytes in [text.as_bytes().to_vec(), bom, gbk.into_owned()] {
            let t = read_table("a.csv", &bytes)?;
            assert_eq!(t.headings, vec!["资产编号", "资产名称"]);
            assert_eq!(
                t.rows,
                vec![(2, vec![Cell::Text("A-1".into()), Cell::Text("椅子".into())])]
            );
        }
        assert!(read_table("x.pdf", b"%PDF-1.4\x00\x01").is_err());
        Ok(())
    }

    #[test]
    fn rows_name_every_problem_and_keep_the_good_ones() {
        let table = Table {
            headings: [
                "资产编号",
                "资产名称",
                "分类",
                "原值",
                "取得日期",
                "使用单位",
            ]
            .map(String::from)
            .to_vec(),
            header_row: 1,
            rows: vec![
                (
                    2,
                    vec![
                        t("A1"),
                        t("椅子"),
                        t("家具"),
                        t("10"),
                        t("2021/3/5"),
                        t("财政局"),
                    ],
                ),
                (
                    3,
                    vec![t("A1"), t(""), t("家具"), t("x"), t("昨天"), Cell::Empty],
                ),
            ],
        };
        let (cols, mapping) = map_columns(&table, &Mapping::new());
        assert!(mapping.is_empty(), "{mapping:?}");
        let (rows, problems) = check_rows(&table, &cols);
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].purchase_date.as_deref(), Some("2021-03-05"));
        let got: Vec<(usize, &str, &Why)> = problems
            .iter()
            .map(|p| (p.row, p.column.as_str(), &p.why))
            .collect();
        assert_eq!(
            got,
            vec![
                (3, "资产名称", &Why::Missing),
                (3, "资产编号", &Why::DuplicateNumber { first_row: 2 }),
                (3, "原值", &Why::BadMoney),
                (3, "取得日期", &Why::BadDate),
                (3, "存放地点", &Why::NoHolder),
            ]
        );
    }

    #[test]
    fn a_mapping_overrides_and_required_columns_are_named() {
        let table = Table {
            headings: ["卡号", "名称", "类", "价"].map(String::from).to_vec(),
            header_row: 1,
            rows: vec![],
        };
        let (_, problems) = map_columns(&table, &Mapping::new());
        assert_eq!(problems.len(), 3, "{problems:?}");
        let m: Mapping = [
            ("卡号", "asset_number"),
            ("类", "category"),
            ("价", "original_value"),
        ]
        .map(|(a, b)| (a.to_owned(), b.to_owned()))
        .into();
        let (cols, problems) = map_columns(&table, &m);
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(cols[0], Some(Field::AssetNumber));
    }
}
