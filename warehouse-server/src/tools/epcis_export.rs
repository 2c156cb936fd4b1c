//! `admin export-epcis`: every EPCIS 2.0 event (or those of a period) as
//! one EPCISDocument file. Streams: the walk is read a page at a time
//! (the same keyset pages as `GET /api/v1/epcis/events`, so events
//! recorded meanwhile neither repeat nor push others out) and each page is
//! written before the next is read, so memory stays one page whatever the
//! history's size. Written beside `out` and renamed into place at the end:
//! a failed export leaves no half document.

use std::io::Write;
use std::path::Path;

use anyhow::Context;

use crate::epcis::{document_frame, Query, MAX_PER_PAGE};
use crate::policy::Visibility;
use crate::store::Store;
use crate::time::now_ms;

/// Writes the document; returns how many events it holds.
pub async fn export(
    store: &Store,
    out: &Path,
    from_ms: Option<i64>,
    to_ms: Option<i64>,
) -> anyhow::Result<u64> {
    let name = out
        .file_name()
        .with_context(|| format!("{} names no file", out.display()))?;
    let mut partial_name = name.to_os_string();
    partial_name.push(".partial");
    let partial = out.with_file_name(partial_name);
    let file = std::fs::File::create(&partial)
        .with_context(|| format!("creating {}", partial.display()))?;
    let mut w = std::io::BufWriter::new(file);
    let (head, tail) = document_frame(now_ms());
    let mut q = Query {
        from_ms,
        to_ms,
        per_page: MAX_PER_PAGE,
        ..Query::default()
    };
    let mut count = 0u64;
    let written: anyhow::Result<()> = async {
        w.write_all(head.as_bytes())?;
        loop {
            let (events, next) = store.epcis_page(q.clone(), Visibility::All).await?;
            for e in &events {
                if count > 0 {
                    w.write_all(b",\n")?;
                }
                serde_json::to_writer(&mut w, e)?;
                count += 1;
            }
            match next {
                Some(c) => q.after = Some(c),
                None => break,
            }
        }
        w.write_all(tail.as_bytes())?;
        w.write_all(b"\n")?;
        w.flush()?;
        w.get_ref().sync_all()?;
        Ok(())
    }
    .await;
    if let Err(e) = written {
        let _ = std::fs::remove_file(&partial);
        return Err(e.context(format!("writing {}", partial.display())));
    }
    std::fs::rename(&partial, out)
        .with_context(|| format!("moving {} to {}", partial.display(), out.display()))?;
    Ok(count)
}
