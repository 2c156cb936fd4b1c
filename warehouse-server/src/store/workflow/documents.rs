//! Documents attached to requests.

use super::*;

// ---------------------------------------------------------------------------
// Documents.

pub(super) fn list_documents(c: &Db<'_>, request: i64) -> AppResult<Vec<DocumentInfo>> {
    let mut stmt = c.prepare_cached(
        "SELECT id, request_id, filename, content_type, size, sha256, uploaded_by, uploaded_at
         FROM documents WHERE request_id = ?1 ORDER BY id",
    )?;
    let rows = stmt.query_map([request], |r| {
        let sha: Vec<u8> = r.get(5)?;
        Ok(DocumentInfo {
            id: r.get(0)?,
            request_id: r.get(1)?,
            filename: r.get(2)?,
            content_type: r.get(3)?,
            size: r.get(4)?,
            sha256: shared::hex::Hex(&sha).to_string().to_ascii_lowercase(),
            uploaded_by: r.get(6)?,
            uploaded_at: ts(r.get(7)?),
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// The file name of document `id` when it is attached to `request`; a
/// step naming another request's document (or none) is refused, naming
/// `field`.
pub(super) fn request_document(
    c: &Db<'_>,
    request: i64,
    field: &str,
    id: i64,
) -> AppResult<String> {
    c.prepare_cached("SELECT filename FROM documents WHERE id = ?1 AND request_id = ?2")?
        .query_row((id, request), |r| r.get(0))
        .optional()?
        .ok_or_else(|| {
            Reason::NotRequestDocument {
                field: field.into(),
                document_id: id,
                request_id: request,
            }
            .into()
        })
}

/// A downloaded document.
#[derive(Debug)]
pub struct Document {
    pub filename: String,
    pub content_type: String,
    pub data: Vec<u8>,
}

impl Store {
    /// Attaches a file to a request (type and size checked by the caller
    /// with [`check_document`]).
    pub async fn add_document(
        &self,
        actor: Actor,
        request_id: i64,
        filename: String,
        content_type: String,
        data: Vec<u8>,
    ) -> AppResult<DocumentInfo> {
        use sha2::Digest;
        self.write(move |tx| {
            let r = load_row(tx, request_id)?;
            if !may_view(&actor, &r) {
                return Err(AppError::not_found("request", request_id));
            }
            authorize(&actor, Action::ActOnRequest, scope_of(&r))?;
            let sha = sha2::Sha256::digest(&data).to_vec();
            tx.execute(
                "INSERT INTO documents (request_id, filename, content_type, size, sha256, data,
                     uploaded_by, uploaded_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                rusqlite::params![
                    request_id,
                    filename,
                    content_type,
                    data.len() as i64,
                    sha,
                    data,
                    actor.label(),
                    now_ms()
                ],
            )?;
            let id = tx.last_insert_rowid()?;
            list_documents(tx, request_id)?
                .into_iter()
                .find(|d| d.id == id)
                .ok_or_else(|| AppError::internal("document vanished"))
        })
        .await
    }

    pub async fn document(&self, actor: Actor, id: i64) -> AppResult<Document> {
        self.read(move |c| {
            type DocRow = (Option<i64>, Option<i64>, String, String, Vec<u8>);
            let row: Option<DocRow> = c
                .query_row(
                    "SELECT request_id, acquisition_id, filename, content_type, data
                     FROM documents WHERE id = ?1",
                    [id],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
                )
                .optional()?;
            let (request, acquisition, filename, content_type, data) =
                row.ok_or_else(|| AppError::not_found("document", id))?;
            match (request, acquisition) {
                (Some(request), _) => {
                    let r = load_row(c, request)?;
                    if !may_view(&actor, &r) {
                        return Err(AppError::not_found("document", id));
                    }
                }
                // An acquisition's document: seen by whoever sees its
                // warehouse's register.
                (None, Some(a)) => {
                    crate::store::acquisitions::document_visible(c, &actor, a)
                        .map_err(|_| AppError::not_found("document", id))?;
                }
                (None, None) => return Err(AppError::not_found("document", id)),
            }
            Ok(Document {
                filename,
                content_type,
                data,
            })
        })
        .await
    }
}
