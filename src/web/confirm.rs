//! The confirmation step before a decision on a request, shared by both
//! portals: the question, the request's facts, an optional comment, and the
//! button that really does it.

use actix_web::{HttpResponse, http::StatusCode};
use askama::Template;

use super::{chrome::Chrome, render_status, two_factor::step_up::StepUp, view::RequestView};
use crate::{i18n::Tr, web::error::AppError};

/// What a confirmation page posts: the optional comment.
#[derive(serde::Deserialize)]
pub struct DecisionForm {
    #[serde(default)]
    pub comment: String,
}

#[derive(Template)]
#[template(path = "confirm.html")]
pub struct ConfirmPage {
    pub tr: Tr,
    pub chrome: Chrome,
    pub request: RequestView,
    /// Translation-key prefix of the texts: `<prefix>-title`, `-question`,
    /// `-button`.
    pub key_prefix: String,
    /// Where the form posts to.
    pub action_url: String,
    /// Where "back" leads.
    pub back_url: String,
    pub comment: String,
    pub comment_error: Option<String>,
    /// The code field, when the decision must be confirmed with a second
    /// factor now.
    pub step_up: StepUp,
}

impl ConfirmPage {
    /// The question `<prefix>-…` about the request at `request_url`; the
    /// form posts to `<request_url>/<action>`, "back" leads to the request.
    pub fn new(
        tr: Tr,
        chrome: Chrome,
        request: RequestView,
        key_prefix: String,
        request_url: String,
        action: &str,
    ) -> Self {
        Self {
            tr,
            chrome,
            request,
            key_prefix,
            action_url: format!("{request_url}/{action}"),
            back_url: request_url,
            comment: String::new(),
            comment_error: None,
            step_up: StepUp::default(),
        }
    }

    fn key(&self, part: &str) -> String {
        format!("{}-{part}", self.key_prefix)
    }

    /// The page again, with the comment as typed and what is wrong with it.
    pub fn refuse_comment(
        mut self,
        comment: String,
        error_key: &str,
    ) -> Result<HttpResponse, AppError> {
        self.comment_error = Some(self.tr.t(error_key));
        self.comment = comment;
        render_status(StatusCode::UNPROCESSABLE_ENTITY, &self)
    }

    /// The page again, with the comment as typed and the code asked for.
    pub fn refuse_step_up(
        mut self,
        comment: String,
        step_up: StepUp,
        status: StatusCode,
    ) -> Result<HttpResponse, AppError> {
        self.step_up = step_up;
        self.comment = comment;
        render_status(status, &self)
    }
}
