//! The corporate actions of a CQL store: `<table>_actions`, one partition per symbol,
//! one row per version (clustered by ex-date, kind and the time the version was loaded).

use super::db::{columns, cql_date, days_of, Db};
use crate::actions::{Action, Event};
use crate::error::Result;
use scylla::statement::batch::{Batch, BatchType};
use scylla::value::{CqlDate, CqlTimestamp};

/// Rows of one partition per batch.
const BATCH_ROWS: usize = 100;

/// The table's name.
pub fn table(db: &Db) -> String {
    format!("{}.{}_actions", db.target.keyspace, db.target.table)
}

/// The statement that creates the table.
pub fn create(db: &Db) -> String {
    format!(
        "CREATE TABLE IF NOT EXISTS {} (symbol text, ex_date date, kind text, recorded timestamp, split_from double, split_to double, dividend double, source text, PRIMARY KEY ((symbol), ex_date, kind, recorded))",
        table(db)
    )
}

type Row = (
    String,
    CqlDate,
    String,
    CqlTimestamp,
    Option<f64>,
    Option<f64>,
    Option<f64>,
    String,
);

/// The versions stored for `symbol` (every symbol for `None`); none when the table was
/// never made (a store written before actions existed).
pub async fn read(db: &Db, symbol: Option<&str>) -> Result<Vec<Action>> {
    let (ks, tb) = (&db.target.keyspace, &db.target.table);
    if columns(db, ks, &format!("{tb}_actions")).await?.is_empty() {
        return Ok(Vec::new());
    }
    let select = format!(
        "SELECT symbol, ex_date, kind, recorded, split_from, split_to, dividend, source FROM {}",
        table(db)
    );
    let mut out = Vec::new();
    let what = || "reading the corporate actions".to_string();
    let mut add = |(symbol, ex_date, kind, recorded, from, to, cash, source): Row| {
        let event = match kind.as_str() {
            "split" => Event::Split {
                from: from.unwrap_or(f64::NAN),
                to: to.unwrap_or(f64::NAN),
            },
            _ => Event::Dividend {
                cash: cash.unwrap_or(f64::NAN),
            },
        };
        out.push(Action {
            symbol,
            ex_date: days_of(ex_date),
            event,
            source,
            recorded: recorded.0,
        });
    };
    match symbol {
        Some(s) => {
            let stmt = db.prepare(format!("{select} WHERE symbol = ?")).await?;
            db.pages(what, &stmt, (s,), &mut add).await?
        }
        None => {
            let stmt = db.prepare(select).await?;
            db.pages(what, &stmt, (), &mut add).await?
        }
    }
    Ok(out)
}

/// Adds versions, a batch per symbol (one partition each).
pub async fn put(db: &Db, actions: &[Action]) -> Result<()> {
    let insert = db
        .prepare(format!(
            "INSERT INTO {} (symbol, ex_date, kind, recorded, split_from, split_to, dividend, source) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            table(db)
        ))
        .await?;
    let mut sorted: Vec<&Action> = actions.iter().collect();
    sorted.sort_by(|a, b| a.symbol.cmp(&b.symbol));
    for same in sorted.chunk_by(|a, b| a.symbol == b.symbol) {
        for group in same.chunks(BATCH_ROWS) {
            let mut batch = Batch::new(BatchType::Unlogged);
            let values: Vec<Row> = group
                .iter()
                .map(|a| {
                    batch.append_statement(insert.clone());
                    let (from, to, cash) = a.event.values();
                    (
                        a.symbol.clone(),
                        cql_date(a.ex_date),
                        a.event.kind().to_string(),
                        CqlTimestamp(a.recorded),
                        from,
                        to,
                        cash,
                        a.source.clone(),
                    )
                })
                .collect();
            db.batch(
                || format!("storing the corporate actions of {}", group[0].symbol),
                &batch,
                values,
            )
            .await?;
        }
    }
    Ok(())
}
