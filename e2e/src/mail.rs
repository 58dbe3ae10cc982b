//! Mailpit's read API (`MAIL_API_URL`): the one way tests read what the stack's SMTP server
//! received.
//!
//! Messages are found with Mailpit's search (`to:"<address>"`), never its plain list: the list
//! answers only the newest 50 messages of the whole mailbox, so tests sending mail side by side
//! pushed each other's messages out of it (the cluster crash test once counted 47 of its 50).

use crate::{Stack, WAIT, wait_until};
use serde_json::Value;

/// As many messages as one search answers; far more than any test sends to one address.
const SEARCH_LIMIT: &str = "1000";

/// Mailpit's API on the local stack.
#[derive(Debug, Clone)]
pub struct MailApi {
    base: String,
    http: reqwest::Client,
}

impl MailApi {
    /// The stack's Mailpit, through `http`.
    pub fn new(stack: &Stack, http: reqwest::Client) -> Self {
        Self { base: stack.get("MAIL_API_URL").trim_end_matches('/').to_owned(), http }
    }

    /// Summaries of the messages addressed to `address` (exactly), newest first.
    pub async fn messages_to(&self, address: &str) -> Vec<Value> {
        let list: Value = self
            .http
            .get(format!("{}/api/v1/search", self.base))
            .query(&[("query", format!("to:\"{address}\"").as_str()), ("limit", SEARCH_LIMIT)])
            .send()
            .await
            .expect("mail search")
            .json()
            .await
            .expect("mail search json");
        let all = list["messages"].as_array().cloned().unwrap_or_default();
        // `to:` matches substrings of a recipient; keep the exact ones.
        all.into_iter()
            .filter(|m| {
                m["To"]
                    .as_array()
                    .is_some_and(|to| to.iter().any(|a| a["Address"].as_str().is_some_and(|a| a.eq_ignore_ascii_case(address))))
            })
            .collect()
    }

    /// One message in full (Subject, Text, HTML, …).
    pub async fn message(&self, id: &str) -> Value {
        self.http.get(format!("{}/api/v1/message/{id}", self.base)).send().await.expect("mail message").json().await.expect("json")
    }

    /// Wait for the first message to `address` and return it in full.
    pub async fn wait_for_mail_to(&self, address: &str) -> Value {
        let id = wait_until(&format!("a mail to {address}"), WAIT, || async move {
            self.messages_to(address).await.first().map(|m| m["ID"].as_str().expect("ID").to_owned())
        })
        .await;
        self.message(&id).await
    }
}
