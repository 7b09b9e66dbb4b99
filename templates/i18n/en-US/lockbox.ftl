product-name = lockbox
portal-admin = Admin center
portal-engineer = Engineer portal
header-organization = Organization
language-switch = Language
greeting = Signed in as { $name }
signout = Sign out
nav-label = Main navigation
nav-home = Home

signin-title = Sign in
signin-intro-admin = Sign in to your organization's admin center to review Customer Lockbox requests.
signin-intro-engineer = Sign in with your provider staff account.
signin-button = Sign in
signin-invalid = The organization, email address or password is incorrect.
signin-throttled = Too many failed sign-in attempts. Wait 15 minutes and try again.
signin-missing-fields-admin = Enter your organization, email address and password.
signin-missing-fields = Enter your email address and password.

field-organization = Organization
field-email = Email address
field-password = Password
field-role = Your role

role-global-admin = Global administrator
role-approver = Customer Lockbox access approver
role-user = User
role-engineer = Support engineer
role-manager = Support manager

admin-home-title = Home
admin-home-lockbox-heading = Customer Lockbox
lockbox-explainer = Customer Lockbox makes sure that the provider's support engineers cannot touch your content without your explicit approval. Every request is approved by a support manager first, then by you; access ends by itself after at most four hours, and every step is recorded in your audit log.
lockbox-state-on = Customer Lockbox is on: data access requests need your approval.
lockbox-state-off = Customer Lockbox is off: data access requests are approved by the provider's support manager only.
no-access-advice = Ask a global administrator of your organization to assign you the Customer Lockbox access approver role if you need to review requests.

engineer-home-title = Engineer portal
engineer-home-intro = Request time-limited access to a customer's content for a support case. Every request needs a second approval, and the customer's approval when their Customer Lockbox is on.

error-back-home = Go to the home page
error-not-found-title = Page not found
error-not-found-message = There is nothing here, or you do not have access to it.
error-forbidden-title = Not allowed
error-csrf-message = This form has expired or did not come from this site. Go back, reload the page and try again.
error-cross-origin-message = This request came from another site and was refused.
error-role-message = Your role does not allow this action.
error-signin-required = Sign in to continue.
error-no-access-title = You don't have access to Customer Lockbox
error-no-access-message = You need the global administrator or Customer Lockbox access approver role to use these pages.
error-bad-request-title = Something is wrong with this request
error-bad-request-message = The request could not be understood. Go back and check what you entered.
error-too-large-title = Too much data
error-too-large-message = The form you sent is larger than lockbox accepts.
error-internal-title = Something went wrong
error-internal-message = lockbox could not complete this request. Nothing was changed. Try again in a moment.

error-email-required = Enter an email address.
error-email-invalid = Enter a valid email address, like name@example.com.
error-display-name-required = Enter a display name.
error-display-name-invalid = A display name has at most 100 characters and no control characters.
error-password-too-short = A password needs at least 12 characters.
error-password-too-long = A password has at most 128 characters.
error-tenant-name-required = Enter the organization's name.
error-tenant-name-invalid = An organization's name has at most 100 characters and no control characters.
