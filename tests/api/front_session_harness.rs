//! The browser harness of `front_session_e2e` checked without tokenbridge: Chromium logs in and
//! out of express-openid-connect 2.20 and 3.x straight at oidc-provider, and 3.x takes the IdP's
//! own back-channel logout. When a session test fails, this one says whether the harness or the
//! front did.

use serde_json::json;

use crate::front_session_e2e::{IDP_SECRET, browse, within_a_minute};
use crate::helpers::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_browser_logs_in_and_out_of_express_openid_connect_straight_at_the_idp() {
    within_a_minute(async {
        for major in [2, 3] {
            let idp_port = free_port();
            let idp = format!("http://127.0.0.1:{idp_port}");
            let rp_node = Node::start(
                "rp.mjs",
                &json!({ "port": 0, "issuerBaseURL": idp, "clientID": "app", "clientSecret": IDP_SECRET, "major": major }),
            );
            let rp = rp_node.ready["baseURL"].as_str().unwrap().to_owned();
            let _idp_node = Node::start(
                "idp.mjs",
                &json!({
                    "port": idp_port,
                    "clients": [{
                        "client_id": "app", "client_secret": IDP_SECRET,
                        "redirect_uris": [format!("{rp}/callback")],
                        "post_logout_redirect_uris": [format!("{rp}/logged-out")],
                        "backchannel_logout_uri": format!("{rp}/backchannel-logout"),
                        "backchannel_logout_session_required": true,
                    }],
                }),
            );
            let steps = browse(
                &rp,
                json!([
                    { "do": "login" }, { "do": "me" }, { "do": "logout" }, { "do": "me" },
                    { "do": "login" }, { "do": "me" },
                    { "do": "goto", "url": format!("{idp}/session/end"), "until": format!("{idp}/session/end/success") },
                    { "do": "me" },
                ]),
            )
            .await;
            let statuses: Vec<_> = steps
                .iter()
                .map(|step| (step["do"].clone(), step["status"].clone()))
                .collect();
            assert_eq!(steps[0]["asked_credentials"], true, "{major}: {statuses:?}");
            assert_eq!(steps[1]["status"], 200, "{major}: {:#}", steps[1]);
            assert_eq!(steps[1]["json"]["claims"]["iss"], idp);
            assert_eq!(steps[2]["url"], format!("{rp}/logged-out"), "{major}: {:#}", steps[2]);
            assert_eq!(
                steps[3]["status"], 401,
                "{major}: {statuses:?} {:#} {:#}",
                steps[2], steps[3]
            );
            assert_eq!(steps[4]["asked_credentials"], true, "{major}: {statuses:?}");
            assert_eq!(steps[5]["status"], 200, "{major}: {statuses:?}");
            // 3.x drops the session on the IdP's logout token (2.20 runs without
            // backchannelLogout: its own verification fails on its key store).
            if major == 3 {
                assert_eq!(steps[7]["status"], 401, "{major}: {statuses:?}");
            }
        }
    })
    .await;
}
