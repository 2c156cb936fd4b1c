//! 预约与档期 — reservations with dates: how many items of a category are
//! free on each day, and what a new booking would be short of.
//!
//! Pure: given the pool and the bookings (read by
//! `store::workflow::reserve`), it counts per day and finds the shortfall.
//! The rule, in one place:
//!
//! - a day's **free** count is `pool − under repair − reserved − out`;
//! - a **reservation** is an approved loan not yet (fully) checked out: it
//!   holds its quantity (less what is already out) from its pick-up day to
//!   its return day, both included;
//! - a **loan out** holds its items checked out and not yet returned over
//!   its window; an overdue loan (due before today) holds them every day
//!   from its start on, until they are returned;
//! - items **under repair** are unavailable every day (no one knows when
//!   the repair ends);
//! - a booking with no last day (an approved allocation waiting for
//!   check-out, an overdue loan) holds every day from its first on;
//! - **rented items** (管理+租用) count toward a loan's need: a rental
//!   linked to the loan whose window covers the loan's window
//!   ([`rental_covers`]) supplies its items of a category, and only the
//!   rest is asked of stock ([`from_stock`]). Rented items never enter the
//!   pool: they are the supplier's, not the warehouse's.

use chrono::NaiveDate;
use serde::Serialize;
use utoipa::ToSchema;

/// How a booking holds its items.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Hold {
    /// 已预约 — approved, not yet checked out.
    Reserved,
    /// 借出中 — checked out, not yet returned.
    Out,
}

/// One request's hold on items of a category over days.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Booking {
    pub request_id: i64,
    pub hold: Hold,
    pub quantity: i64,
    /// First day held (pick-up).
    pub first: NaiveDate,
    /// Last day held (return day, included); `None`: until released.
    pub last: Option<NaiveDate>,
}

impl Booking {
    pub fn holds_on(&self, day: NaiveDate) -> bool {
        self.first <= day && self.last.is_none_or(|last| day <= last)
    }
}

/// The items of a category a booking can draw on.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Pool {
    /// Every item of the pool: in stock, under repair, out on loan.
    pub items: i64,
    /// Of those, under repair (unavailable every day).
    pub under_repair: i64,
}

/// One day's counts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct DayCount {
    /// YYYY-MM-DD.
    #[schema(value_type = String)]
    pub date: NaiveDate,
    pub pool: i64,
    pub reserved: i64,
    pub out: i64,
    pub under_repair: i64,
    /// Never below zero; an overbooked day shows 0.
    pub free: i64,
}

/// One day's counts for a pool and its bookings.
pub fn day(pool: Pool, bookings: &[Booking], date: NaiveDate) -> DayCount {
    let sum = |hold: Hold| -> i64 {
        bookings
            .iter()
            .filter(|b| b.hold == hold && b.holds_on(date))
            .map(|b| b.quantity.max(0))
            .sum()
    };
    let (reserved, out) = (sum(Hold::Reserved), sum(Hold::Out));
    DayCount {
        date,
        pool: pool.items,
        reserved,
        out,
        under_repair: pool.under_repair,
        free: (pool.items - pool.under_repair - reserved - out).max(0),
    }
}

/// The counts of each day from `from` to `to`, both included (none when
/// `to` is before `from`).
pub fn days(pool: Pool, bookings: &[Booking], from: NaiveDate, to: NaiveDate) -> Vec<DayCount> {
    from.iter_days()
        .take_while(|d| *d <= to)
        .map(|d| day(pool, bookings, d))
        .collect()
}

/// Whether a rental from `rent_first` to `rent_last` (both included)
/// covers a loan from `first` to `last`: rented items count toward a loan
/// only when they are in hand every day the loan is out.
pub fn rental_covers(
    rent_first: NaiveDate,
    rent_last: NaiveDate,
    first: NaiveDate,
    last: NaiveDate,
) -> bool {
    rent_first <= first && last <= rent_last
}

/// What a loan asks of stock when `rented` of the `asked` items come from
/// rentals covering it: the rest, never below zero (renting more than
/// needed frees no stock for others).
pub fn from_stock(asked: i64, rented: i64) -> i64 {
    (asked - rented.max(0)).max(0)
}

/// What a new booking of `asked` items over `first..=last` would lack.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Shortage {
    pub asked: i64,
    /// The fewest free items on any day of the window.
    pub free: i64,
    /// `asked − free`: how many more the worst day would need.
    pub short: i64,
    /// First day short (YYYY-MM-DD).
    #[schema(value_type = String)]
    pub first_short: NaiveDate,
    /// Last day short.
    #[schema(value_type = String)]
    pub last_short: NaiveDate,
    /// How many days of the window are short.
    pub days_short: i64,
}

/// The shortage of a new booking of `asked` items over `first..=last`
/// against the pool and the other bookings (the request's own bookings
/// must not be among them), or `None` when every day has room.
pub fn shortage(
    pool: Pool,
    others: &[Booking],
    asked: i64,
    first: NaiveDate,
    last: NaiveDate,
) -> Option<Shortage> {
    let short_days: Vec<DayCount> = days(pool, others, first, last)
        .into_iter()
        .filter(|d| d.free < asked)
        .collect();
    let (head, tail) = (short_days.first()?, short_days.last()?);
    let free = short_days.iter().map(|d| d.free).min().unwrap_or(0);
    Some(Shortage {
        asked,
        free,
        short: asked - free,
        first_short: head.date,
        last_short: tail.date,
        days_short: short_days.len() as i64,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap_or_default()
    }

    fn b(hold: Hold, quantity: i64, first: &str, last: Option<&str>) -> Booking {
        Booking {
            request_id: 1,
            hold,
            quantity,
            first: d(first),
            last: last.map(d),
        }
    }

    const R: Hold = Hold::Reserved;
    const O: Hold = Hold::Out;

    #[test]
    fn a_day_counts_what_holds_it() {
        let pool = Pool {
            items: 200,
            under_repair: 5,
        };
        let bookings = [
            b(R, 120, "2099-12-01", Some("2099-12-03")),
            b(O, 30, "2099-11-20", Some("2099-12-01")),
            b(O, 10, "2099-11-01", None),
        ];
        // (day, reserved, out, free)
        let table = [
            ("2099-11-19", 0, 10, 185),
            ("2099-11-20", 0, 40, 155),
            ("2099-12-01", 120, 40, 35),
            ("2099-12-02", 120, 10, 65),
            ("2099-12-03", 120, 10, 65),
            ("2099-12-04", 0, 10, 185),
            ("2099-10-31", 0, 0, 195),
        ];
        for (date, reserved, out, free) in table {
            let got = day(pool, &bookings, d(date));
            assert_eq!(
                (got.reserved, got.out, got.free, got.pool, got.under_repair),
                (reserved, out, free, 200, 5),
                "{date}"
            );
        }
    }

    #[test]
    fn an_overbooked_day_shows_no_free_items_not_a_negative_count() {
        let pool = Pool {
            items: 3,
            under_repair: 0,
        };
        let got = day(pool, &[b(R, 5, "2099-01-01", None)], d("2099-06-01"));
        assert_eq!(got.free, 0);
        assert_eq!(got.reserved, 5);
    }

    #[test]
    fn days_run_from_first_to_last_included() {
        let pool = Pool {
            items: 1,
            under_repair: 0,
        };
        let got = days(pool, &[], d("2099-02-27"), d("2099-03-02"));
        let dates: Vec<String> = got.iter().map(|x| x.date.to_string()).collect();
        assert_eq!(
            dates,
            ["2099-02-27", "2099-02-28", "2099-03-01", "2099-03-02"]
        );
        assert!(days(pool, &[], d("2099-03-02"), d("2099-03-01")).is_empty());
    }

    #[test]
    fn shortage_of_a_new_booking_table() {
        let pool = Pool {
            items: 10,
            under_repair: 1,
        };
        let others = [
            b(R, 6, "2099-05-10", Some("2099-05-12")),
            b(O, 2, "2099-05-01", Some("2099-05-10")),
        ];
        // (asked, first, last, expected (free, short, first_short, last_short, days))
        type Want = Option<(i64, i64, &'static str, &'static str, i64)>;
        let table: [(i64, &str, &str, Want); 9] = [
            // Fits before, between and after.
            (7, "2099-04-01", "2099-04-30", None),
            (7, "2099-05-13", "2099-05-20", None),
            (1, "2099-05-10", "2099-05-10", None),
            // Exactly the free count fits.
            (3, "2099-05-11", "2099-05-12", None),
            // One more than free on the shared days.
            (
                4,
                "2099-05-11",
                "2099-05-15",
                Some((3, 1, "2099-05-11", "2099-05-12", 2)),
            ),
            // The boundary day counts: a return on the 10th and a pick-up on the 10th clash.
            (
                2,
                "2099-05-10",
                "2099-05-20",
                Some((1, 1, "2099-05-10", "2099-05-10", 1)),
            ),
            // Short over the whole overlap, the worst day named by `free`.
            (
                5,
                "2099-05-09",
                "2099-05-12",
                Some((1, 4, "2099-05-10", "2099-05-12", 3)),
            ),
            // More than the pool can ever give (repair excluded).
            (
                10,
                "2099-06-01",
                "2099-06-02",
                Some((9, 1, "2099-06-01", "2099-06-02", 2)),
            ),
            // Nothing asked, nothing short.
            (0, "2099-05-10", "2099-05-12", None),
        ];
        for (asked, first, last, want) in table {
            let got = shortage(pool, &others, asked, d(first), d(last));
            let want = want.map(|(free, short, fs, ls, n)| Shortage {
                asked,
                free,
                short,
                first_short: d(fs),
                last_short: d(ls),
                days_short: n,
            });
            assert_eq!(got, want, "asked {asked} {first}..{last}");
        }
    }

    #[test]
    fn an_open_ended_hold_blocks_every_later_day() {
        let pool = Pool {
            items: 4,
            under_repair: 0,
        };
        // An overdue loan of 3 still out.
        let others = [b(O, 3, "2099-01-01", None)];
        let got = shortage(pool, &others, 2, d("2099-12-30"), d("2099-12-31"));
        assert_eq!(got.map(|s| (s.free, s.short)), Some((1, 1)));
        assert_eq!(
            shortage(pool, &others, 2, d("2098-12-30"), d("2098-12-31")),
            None
        );
    }

    #[test]
    fn a_rental_counts_only_when_it_covers_the_whole_loan() {
        // (rental first, rental last, loan first, loan last, covers)
        let table = [
            ("2099-05-01", "2099-05-10", "2099-05-01", "2099-05-10", true),
            ("2099-04-30", "2099-05-11", "2099-05-02", "2099-05-09", true),
            (
                "2099-05-02",
                "2099-05-10",
                "2099-05-01",
                "2099-05-10",
                false,
            ),
            (
                "2099-05-01",
                "2099-05-09",
                "2099-05-01",
                "2099-05-10",
                false,
            ),
            (
                "2099-06-01",
                "2099-06-05",
                "2099-05-01",
                "2099-05-10",
                false,
            ),
        ];
        for (rf, rl, f, l, want) in table {
            assert_eq!(
                rental_covers(d(rf), d(rl), d(f), d(l)),
                want,
                "{rf}..{rl} / {f}..{l}"
            );
        }
    }

    #[test]
    fn rented_items_lower_what_stock_must_give() {
        // (asked, rented, from stock)
        for (asked, rented, want) in [(5, 0, 5), (5, 2, 3), (5, 5, 0), (5, 9, 0), (5, -3, 5)] {
            assert_eq!(from_stock(asked, rented), want, "{asked} - {rented}");
        }
    }

    #[test]
    fn a_negative_quantity_never_frees_items() {
        let pool = Pool {
            items: 2,
            under_repair: 0,
        };
        let got = day(pool, &[b(R, -5, "2099-01-01", None)], d("2099-01-02"));
        assert_eq!((got.reserved, got.free), (0, 2));
    }
}
