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

nav-new-request = New request
nav-my-requests = My requests
nav-queue = Approval queue

field-request-id = Request ID
field-status = Status
field-tenant = Customer organization
field-requester = Requester
field-service-request = Service request number
field-workload = Workload
field-duration = Requested duration
field-duration-minutes = Requested duration in minutes (1 to { $max })
field-requested-at = Requested at
field-deadline = Deadline
field-expires-at = Expires at
field-access-ends-at = Access ends at
field-justification = Justification
field-comment = Comment (optional)
field-actions = Actions

status-pending-manager = Pending manager approval
status-pending-customer = Pending customer approval
status-approved = Approved
status-rejected = Rejected
status-denied = Denied
status-expired = Expired
status-cancelled = Cancelled
status-revoked = Revoked
status-ended = Ended

state-word-pending-manager = filed
state-word-pending-customer = approved by a manager and sent to the customer
state-word-approved = approved
state-word-rejected = rejected
state-word-denied = denied
state-word-expired = expired
state-word-cancelled = cancelled
state-word-revoked = revoked
state-word-ended = ended

event-filed = Request filed
event-manager-approved = Approved by a support manager
event-manager-rejected = Rejected by a support manager
event-customer-approved = Approved by the customer
event-customer-denied = Denied by the customer
event-cancelled = Cancelled
event-revoked = Access revoked by the customer
event-expired = Expired without a customer decision
event-ended = Access window ended; access revoked automatically

actor-system = System
actor-customer = Customer ({ $tenant })

refusal-expired = This request expired at { $at }.
refusal-window-ended = Access under this request ended at { $at }.
refusal-already = This request was already { $state } by { $who } at { $at }.
refusal-two-person = You filed this request yourself; another support manager must decide it.
refusal-not-your-request = Only the engineer who filed a request can cancel it.
refusal-not-your-decision = Your role cannot make this decision.

my-requests-title = My requests
my-requests-empty = You have not filed any access requests yet.
queue-title = Approval queue
queue-empty = No requests are waiting for a support manager.
queue-own = You filed this request; another support manager must decide it.
request-title = Request
timeline-heading = Timeline

action-approve = Approve
action-reject = Reject
action-cancel = Cancel request
action-back = Back to the request

confirm-approve-title = Approve this request?
confirm-approve-question = Approving sends the request to the customer when their Customer Lockbox is on; otherwise access starts now.
confirm-approve-button = Yes, approve
confirm-reject-title = Reject this request?
confirm-reject-question = The engineer will not get access under this request.
confirm-reject-button = Yes, reject
confirm-cancel-title = Cancel this request?
confirm-cancel-question = A cancelled request cannot be reopened; file a new one if access is needed later.
confirm-cancel-button = Yes, cancel the request

new-request-title = New access request
new-request-intro = Ask for time-limited access to one customer's content for one support case. A support manager approves it first; then the customer, when their Customer Lockbox is on.
form-has-errors = Some fields need your attention; see the messages below.
choose-tenant = Choose an organization
choose-workload = Choose a workload
new-request-submit = File request

flash-filed = Your request was filed and waits for a support manager.
flash-approved-to-customer = You approved the request; it now waits for the customer's approval.
flash-approved-open = You approved the request; the customer's Customer Lockbox is off, so access is open until { $at }.
flash-rejected = You rejected the request.
flash-cancelled = The request was cancelled.

error-sr-required = Enter the service request number.
error-sr-too-long = A service request number has at most 64 characters and no control characters.
error-justification-required = Explain why you need access.
error-justification-too-long = A justification has at most 2,000 characters.
error-duration-invalid = Enter the duration as a whole number of minutes.
error-duration-range = Choose a duration from 1 to { $max } minutes.
error-comment-too-long = A comment has at most 1,000 characters.
error-tenant-choose = Choose the customer organization.
error-workload-choose = Choose Exchange Online, SharePoint Online or OneDrive for Business.
error-duplicate-window = You already have approved access to this organization and workload until { $at }; use it instead of filing another request.

nav-lockbox-requests = Support › Customer Lockbox requests
nav-org-settings = Settings › Org settings
nav-roles = Roles

settings-breadcrumb = Settings › Org settings › Security & privacy
settings-lockbox-title = Customer Lockbox
settings-require-approval = Require approval for all data access requests
settings-read-only = Only a global administrator can change this setting.
settings-confirm-off-title = Turn off Customer Lockbox?
settings-confirm-off-question = When Customer Lockbox is off, a support manager's approval alone gives an engineer access to your content. Requests already waiting for you keep waiting for your decision.
settings-confirm-off-button = Yes, turn it off
settings-keep-on = Keep it on
flash-lockbox-on = Customer Lockbox is now on: data access requests need your approval.
flash-lockbox-off = Customer Lockbox is now off.
action-save = Save

requests-breadcrumb = Support
requests-title = Customer Lockbox requests
requests-empty-title = No Customer Lockbox requests yet
requests-empty-filtered = No requests match these filters.
filter-any-state = Any status
filter-from = Requested from
filter-until = Requested until
action-filter = Filter
action-clear-filters = Clear filters
action-next-page = Next page
error-filter-state = Choose a status from the list.
error-filter-date = Enter dates as YYYY-MM-DD.
error-filter-order = The "until" date is before the "from" date.
error-filter-page = This page link is no longer valid; start from the first page.

customer-approve-link = Approve
customer-approve-title = Approve this request?
customer-approve-question = The engineer gets access to your content for this workload for the requested duration, starting now. You can revoke it at any time.
customer-approve-button = Yes, approve
customer-deny-link = Deny
customer-deny-title = Deny this request?
customer-deny-question = The engineer will not get access under this request.
customer-deny-button = Yes, deny
customer-cancel-link = Cancel request
customer-cancel-title = Cancel this request?
customer-cancel-question = The request ends without access; the provider can file a new one.
customer-cancel-button = Yes, cancel it
customer-revoke-link = Revoke access
customer-revoke-title = Revoke access now?
customer-revoke-question = The engineer's access ends immediately; their next operation is refused.
customer-revoke-button = Yes, revoke access
flash-customer-approve = You approved request { $id }; access ends at { $at }.
flash-customer-deny = You denied request { $id }.
flash-customer-cancel = You cancelled request { $id }.
flash-customer-revoke = You revoked access under request { $id }.

roles-title = Roles
roles-intro-admin = Assign or remove the Customer Lockbox access approver role, and add users. Your organization always keeps at least one global administrator.
roles-intro-read-only = Only a global administrator can change roles.
roles-you = you
roles-role-of = Role of { $name }
roles-add-heading = Add a user
field-display-name = Display name
field-user-role = Role
field-initial-password = Initial password (at least 12 characters)
action-change-role = Change role
action-add-user = Add user
flash-role-changed = The role was changed to { $role }.
flash-user-added = { $email } was added.
error-last-global-admin = Your organization must keep at least one global administrator; make someone else a global administrator first.
error-role-choose = Choose a role from the list.
error-email-taken = This email address already has an account in your organization.
home-review-requests = Review Customer Lockbox requests
