//! The frame around every page: portal name, organisation, the signed-in
//! person, the sign-out form and the left navigation.

use actix_web::HttpRequest;

use super::forms::PortalSession;
use crate::web::error::AppError;

pub struct NavItem {
    pub href: &'static str,
    pub label_key: &'static str,
    pub current: bool,
}

pub struct Chrome {
    /// `admin` or `engineer`: picks the colour scheme.
    pub portal: &'static str,
    pub portal_title_key: &'static str,
    pub tenant: Option<String>,
    pub user: Option<String>,
    pub csrf: String,
    /// The current path, so the language switch can come back here.
    pub path: String,
    pub nav: Vec<NavItem>,
}

impl Chrome {
    pub fn new(
        req: &HttpRequest,
        portal: &'static str,
        portal_title_key: &'static str,
        nav: &[(&'static str, &'static str)],
    ) -> Result<Self, AppError> {
        let path = req.path().to_owned();
        // The current item is the longest one the path is under.
        let under =
            |href: &str| path == href || (href != "/" && path.starts_with(&format!("{href}/")));
        let current = nav
            .iter()
            .map(|(href, _)| *href)
            .filter(|href| under(href))
            .max_by_key(|href| href.len());
        let nav = nav
            .iter()
            .map(|(href, label_key)| NavItem {
                href,
                label_key,
                current: Some(*href) == current,
            })
            .collect();
        Ok(Self {
            portal,
            portal_title_key,
            tenant: None,
            user: None,
            csrf: PortalSession::from_request(req).csrf_token()?,
            path,
            nav,
        })
    }

    pub fn signed_in(mut self, user: &str, tenant: Option<&str>) -> Self {
        self.user = Some(user.to_owned());
        self.tenant = tenant.map(str::to_owned);
        self
    }
}
