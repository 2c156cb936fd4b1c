//! Login, sessions and the role × action × own/other-unit table.

use anyhow::{ensure, Result};
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::support::*;

#[tokio::test]
async fn login_logout_and_cookie() -> Result<()> {
    let s = Server::start()?;
    let (status, body) = s
        .call(
            Method::POST,
            "/api/v1/auth/login",
            None,
            Some(json!({"username": ADMIN, "password": "wrong-password"})),
        )
        .await?;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(body["error"]["code"], "unauthenticated");

    let (cookie, body) = api_login(&s.http, &s.base).await?;
    ensure!(
        cookie.starts_with("wh_session=") && cookie.contains("HttpOnly"),
        "cookie {cookie}"
    );
    let token = body["token"].as_str().unwrap_or_default().to_owned();
    assert_eq!(body["user"]["role"], "administrator");

    // The cookie authenticates a browser just like the bearer token.
    let session = cookie.split(';').next().unwrap_or_default().to_owned();
    let me = s
        .http
        .get(format!("{}/api/v1/auth/me", s.base))
        .header("cookie", session)
        .send()
        .await?;
    assert_eq!(me.status(), StatusCode::OK);

    let me = s.get_ok("/api/v1/auth/me", &token).await?;
    assert_eq!(me["actor"], "user:admin");

    let (status, _) = s.call(Method::GET, "/api/v1/auth/me", None, None).await?;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = s.get("/api/v1/auth/me", "whs_0000").await?;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    let (status, _) = s
        .call(Method::POST, "/api/v1/auth/logout", Some(&token), None)
        .await?;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = s.get("/api/v1/auth/me", &token).await?;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "token must die with logout"
    );
    Ok(())
}

#[tokio::test]
async fn sessions_expire() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let db = dir.path().join("w.db");
    admin_init(&db)?;
    let s = Server::start_with(dir, db, &[("WAREHOUSE_SESSION_TTL_SECS", "1")])?;
    let token = s.login(ADMIN, PASSWORD).await?;
    s.get_ok("/api/v1/auth/me", &token).await?;
    tokio::time::sleep(std::time::Duration::from_millis(1300)).await;
    let (status, _) = s.get("/api/v1/auth/me", &token).await?;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    Ok(())
}

/// Every cell of role × action × (own unit's asset, other unit's asset).
#[tokio::test]
async fn role_action_unit_table() -> Result<()> {
    let w = World::new().await?;
    let s = &w.server;
    // (role, token, [view own, view other], [update own, update other],
    //  [commission own, commission other], [emergency gate pass own, other])
    type Expect = [u16; 2];
    let table: [(&str, &str, Expect, Expect, Expect, Expect); 5] = [
        (
            "administrator",
            &w.admin,
            [200, 200],
            [200, 200],
            [201, 201],
            [403, 403],
        ),
        (
            "approver",
            &w.approver,
            [200, 200],
            [403, 403],
            [403, 403],
            [201, 201],
        ),
        (
            "finance",
            &w.finance,
            [200, 200],
            [403, 403],
            [403, 403],
            [403, 403],
        ),
        (
            "keeper",
            &w.keeper,
            [200, 200],
            [200, 200],
            [201, 201],
            [403, 403],
        ),
        (
            "unit staff of A",
            &w.staff_a,
            [200, 403],
            [200, 403],
            [403, 403],
            [403, 403],
        ),
    ];
    for (role, token, view, update, commission, approve) in table {
        for (i, asset) in [w.asset_a, w.asset_b].into_iter().enumerate() {
            let side = if i == 0 { "own" } else { "other" };
            let (st, body) = s.get(&format!("/api/v1/assets/{asset}"), token).await?;
            assert_eq!(st.as_u16(), view[i], "{role} view {side}: {body}");
            let (st, body) = s
                .call(
                    Method::PATCH,
                    &format!("/api/v1/assets/{asset}"),
                    Some(token),
                    Some(json!({"notes": format!("by {role}")})),
                )
                .await?;
            assert_eq!(st.as_u16(), update[i], "{role} update {side}: {body}");
            let (st, body) = s
                .post(
                    &format!("/api/v1/assets/{asset}/tag/commission"),
                    token,
                    json!({}),
                )
                .await?;
            assert_eq!(
                st.as_u16(),
                commission[i],
                "{role} commission {side}: {body}"
            );
            let (st, body) = s
                .post(
                    &format!("/api/v1/assets/{asset}/emergency-pass"),
                    token,
                    json!({"reason": "抢修", "valid_minutes": 10}),
                )
                .await?;
            assert_eq!(st.as_u16(), approve[i], "{role} approve {side}: {body}");
            if st.as_u16() == 403 {
                assert_eq!(body["error"]["code"], "forbidden");
            }
        }
    }
    // Listings obey the same rule: staff of A see A's assets and warehouse
    // stock, never B's.
    let page = s.get_ok("/api/v1/assets?per_page=100", &w.staff_a).await?;
    let ids: Vec<i64> = page["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|a| a["id"].as_i64())
        .collect();
    assert_eq!(page["total"], 2);
    assert!(ids.contains(&w.asset_a) && ids.contains(&w.asset_wh) && !ids.contains(&w.asset_b));
    let page = s
        .get_ok(
            &format!("/api/v1/assets?holder_unit_id={}", w.unit_b),
            &w.staff_a,
        )
        .await?;
    assert_eq!(page["total"], 0);
    // Only administrators manage the register; readers only ingest.
    let (st, _) = s
        .post("/api/v1/units", &w.keeper, json!({"name": "X"}))
        .await?;
    assert_eq!(st, StatusCode::FORBIDDEN);
    let (st, _) = s
        .get(&format!("/api/v1/assets/{}", w.asset_wh), &w.gate_token)
        .await?;
    assert_eq!(st, StatusCode::FORBIDDEN);
    let (st, _) = s
        .post(
            "/api/v1/readers/observations",
            &w.admin,
            batch("d", 1, vec![]),
        )
        .await?;
    assert_eq!(st, StatusCode::FORBIDDEN);
    Ok(())
}

async fn me(s: &Server, token: &str) -> Result<StatusCode> {
    Ok(s.get("/api/v1/auth/me", token).await?.0)
}

#[tokio::test]
async fn people_change_passwords_and_admins_reset_and_deactivate() -> Result<()> {
    let s = Server::start()?;
    let admin = s.login(ADMIN, PASSWORD).await?;
    let clerk = add_keeper(&s, &admin, "clerk", "first-pass-1").await?;
    let here = s.login("clerk", "first-pass-1").await?;
    let elsewhere = s.login("clerk", "first-pass-1").await?;

    // The old password is required.
    let (status, body) = s
        .post(
            "/api/v1/auth/password",
            &here,
            json!({"old_password": "guess-guess", "new_password": "second-pass-2"}),
        )
        .await?;
    ensure!(
        status == StatusCode::UNPROCESSABLE_ENTITY,
        "{status} {body}"
    );
    ensure!(
        body["error"]["code"] == "wrong_password" && body["error"]["field"] == "old_password",
        "{body}"
    );
    let (status, body) = s
        .post(
            "/api/v1/auth/password",
            &here,
            json!({"old_password": "first-pass-1", "new_password": "second-pass-2"}),
        )
        .await?;
    ensure!(status == StatusCode::NO_CONTENT, "{status} {body}");
    // This session goes on; the other one ended; only the new password works.
    ensure!(me(&s, &here).await? == StatusCode::OK);
    ensure!(me(&s, &elsewhere).await? == StatusCode::UNAUTHORIZED);
    ensure!(s.login("clerk", "first-pass-1").await.is_err());
    let again = s.login("clerk", "second-pass-2").await?;

    // Deactivation ends every session and token at once; login refused.
    let (status, body) = s
        .post(
            &format!("/api/v1/users/{clerk}/active"),
            &admin,
            json!({"active": false}),
        )
        .await?;
    ensure!(
        status == StatusCode::OK && body["active"] == false,
        "{status} {body}"
    );
    ensure!(me(&s, &here).await? == StatusCode::UNAUTHORIZED);
    ensure!(me(&s, &again).await? == StatusCode::UNAUTHORIZED);
    ensure!(s.login("clerk", "second-pass-2").await.is_err());
    s.post_ok(
        &format!("/api/v1/users/{clerk}/active"),
        &admin,
        json!({"active": true}),
        200,
    )
    .await?;
    let back = s.login("clerk", "second-pass-2").await?;

    // An administrator's reset ends the user's sessions; the new password works.
    let (status, _) = s
        .post(
            &format!("/api/v1/users/{clerk}/password"),
            &admin,
            json!({"password": "third-pass-3"}),
        )
        .await?;
    ensure!(status == StatusCode::NO_CONTENT);
    ensure!(me(&s, &back).await? == StatusCode::UNAUTHORIZED);
    s.login("clerk", "third-pass-3").await?;
    // Only administrators reset or deactivate.
    let (status, _) = s
        .post(
            &format!("/api/v1/users/{clerk}/active"),
            &s.login("clerk", "third-pass-3").await?,
            json!({"active": false}),
        )
        .await?;
    ensure!(status == StatusCode::FORBIDDEN);
    let (status, _) = s
        .post(
            "/api/v1/users/999/password",
            &admin,
            json!({"password": "fourth-pass-4"}),
        )
        .await?;
    ensure!(status == StatusCode::NOT_FOUND);
    Ok(())
}

#[tokio::test]
async fn account_pages_change_passwords_and_deactivate() -> Result<()> {
    let s = Server::start()?;
    let admin = s.login(ADMIN, PASSWORD).await?;
    let clerk = add_keeper(&s, &admin, "clerk", "first-pass-1").await?;
    let c = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    let post = |path: String, token: String, form: Vec<(&'static str, &'static str)>| {
        let c = c.clone();
        let url = format!("{}{path}", s.base);
        let base = s.base.clone();
        async move {
            let csrf = form_token(&c, &base, &token).await?;
            let mut form: Vec<(&str, &str)> = form;
            form.push(("_csrf", &csrf));
            let resp = c
                .post(url)
                .header("cookie", format!("wh_session={token}"))
                .form(&form)
                .send()
                .await?;
            let status = resp.status();
            Ok::<_, anyhow::Error>((status, resp.text().await?))
        }
    };
    // Own password: a wrong current password is shown beside its field.
    let session = s.login("clerk", "first-pass-1").await?;
    let (status, page) = post(
        "/account/password".into(),
        session.clone(),
        vec![
            ("old_password", "nope-nope"),
            ("new_password", "second-pass-2"),
        ],
    )
    .await?;
    ensure!(status == StatusCode::UNPROCESSABLE_ENTITY, "{status}");
    ensure!(page.contains("当前密码不正确"), "{page}");
    let (status, page) = post(
        "/account/password".into(),
        session.clone(),
        vec![
            ("old_password", "first-pass-1"),
            ("new_password", "second-pass-2"),
        ],
    )
    .await?;
    ensure!(
        status == StatusCode::OK && page.contains("密码已修改"),
        "{status}"
    );
    s.login("clerk", "second-pass-2").await?;

    // The admin page deactivates: the session ends at once.
    let (status, _) = post(
        format!("/admin/users/{clerk}/active"),
        admin.clone(),
        vec![("active", "false")],
    )
    .await?;
    ensure!(status == StatusCode::SEE_OTHER, "{status}");
    ensure!(me(&s, &session).await? == StatusCode::UNAUTHORIZED);
    let (status, _) = post(
        format!("/admin/users/{clerk}/password"),
        admin.clone(),
        vec![("password", "third-pass-3")],
    )
    .await?;
    ensure!(status == StatusCode::SEE_OTHER, "{status}");
    post(
        format!("/admin/users/{clerk}/active"),
        admin,
        vec![("active", "true")],
    )
    .await?;
    s.login("clerk", "third-pass-3").await?;
    Ok(())
}

fn token_path(daemon: &str) -> String {
    format!("/api/v1/daemons/{daemon}/token")
}

/// Rotates `daemon`'s token; the answer holds the new one.
async fn rotate(s: &Server, admin: &str, daemon: &str) -> Result<serde_json::Value> {
    s.post_ok(&token_path(daemon), admin, json!({}), 200).await
}

#[tokio::test]
async fn daemon_tokens_are_revoked_and_rotated_at_once() -> Result<()> {
    let s = Server::start()?;
    let admin = s.login(ADMIN, PASSWORD).await?;
    // A reader registered alone is a daemon of its own, named after it.
    let (_, token) = s.add_reader(&admin, "gate-9", "gate", None).await?;
    let daemon = "gate-9";
    ensure!(me(&s, &token).await? == StatusCode::OK);
    let (status, _) = s
        .call(Method::DELETE, &token_path(daemon), Some(&admin), None)
        .await?;
    ensure!(status == StatusCode::NO_CONTENT, "{status}");
    ensure!(me(&s, &token).await? == StatusCode::UNAUTHORIZED);
    let rotated = rotate(&s, &admin, daemon).await?;
    let new = rotated["token"].as_str().unwrap_or_default().to_owned();
    ensure!(new.starts_with("whr_") && new != token, "{rotated}");
    ensure!(me(&s, &new).await? == StatusCode::OK);
    ensure!(me(&s, &token).await? == StatusCode::UNAUTHORIZED);
    // Rotating again retires the previous token at once.
    let newer = rotate(&s, &admin, daemon).await?;
    ensure!(me(&s, &new).await? == StatusCode::UNAUTHORIZED, "{newer}");
    let (status, _) = s
        .call(
            Method::DELETE,
            &token_path("no-such-daemon"),
            Some(&admin),
            None,
        )
        .await?;
    ensure!(status == StatusCode::NOT_FOUND);
    Ok(())
}
