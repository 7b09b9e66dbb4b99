product-name = lockbox
portal-admin = Beheercentrum
portal-engineer = Engineerportaal
header-organization = Organisatie
language-switch = Taal
greeting = Aangemeld als { $name }
signout = Afmelden
nav-label = Hoofdnavigatie
nav-home = Start

signin-title = Aanmelden
signin-intro-admin = Meld u aan bij het beheercentrum van uw organisatie om Klanten-lockbox-aanvragen te beoordelen.
signin-intro-engineer = Meld u aan met uw account als medewerker van de provider.
signin-button = Aanmelden
signin-invalid = De organisatie, het e-mailadres of het wachtwoord is onjuist.
signin-throttled = Te veel mislukte aanmeldpogingen. Wacht 15 minuten en probeer het opnieuw.
signin-missing-fields-admin = Vul uw organisatie, e-mailadres en wachtwoord in.
signin-missing-fields = Vul uw e-mailadres en wachtwoord in.

field-organization = Organisatie
field-email = E-mailadres
field-password = Wachtwoord
field-role = Uw rol

role-global-admin = Globale beheerder
role-approver = Goedkeurder voor toegang tot Klanten-lockbox
role-user = Gebruiker
role-engineer = Supportengineer
role-manager = Supportmanager

admin-home-title = Start
admin-home-lockbox-heading = Klanten-lockbox
lockbox-explainer = Klanten-lockbox zorgt ervoor dat supportengineers van de provider niet zonder uw uitdrukkelijke goedkeuring bij uw inhoud kunnen. Elke aanvraag wordt eerst door een supportmanager goedgekeurd en daarna door u; toegang eindigt vanzelf na hooguit vier uur en elke stap wordt vastgelegd in uw auditlogboek.
lockbox-state-on = Klanten-lockbox staat aan: aanvragen voor toegang tot gegevens hebben uw goedkeuring nodig.
lockbox-state-off = Klanten-lockbox staat uit: aanvragen voor toegang tot gegevens worden alleen door de supportmanager van de provider goedgekeurd.
no-access-advice = Vraag een globale beheerder van uw organisatie om u de rol Goedkeurder voor toegang tot Klanten-lockbox toe te wijzen als u aanvragen moet beoordelen.

engineer-home-title = Engineerportaal
engineer-home-intro = Vraag tijdelijke toegang aan tot de inhoud van een klant voor een supportzaak. Elke aanvraag heeft een tweede goedkeuring nodig, en de goedkeuring van de klant als diens Klanten-lockbox aanstaat.

error-back-home = Naar de startpagina
error-not-found-title = Pagina niet gevonden
error-not-found-message = Hier is niets, of u hebt er geen toegang toe.
error-forbidden-title = Niet toegestaan
error-csrf-message = Dit formulier is verlopen of kwam niet van deze site. Ga terug, laad de pagina opnieuw en probeer het nog eens.
error-cross-origin-message = Dit verzoek kwam van een andere site en is geweigerd.
error-role-message = Uw rol staat deze actie niet toe.
error-signin-required = Meld u aan om verder te gaan.
error-no-access-title = U hebt geen toegang tot Klanten-lockbox
error-no-access-message = U hebt de rol Globale beheerder of Goedkeurder voor toegang tot Klanten-lockbox nodig om deze pagina's te gebruiken.
error-bad-request-title = Er klopt iets niet aan dit verzoek
error-bad-request-message = Het verzoek kon niet worden begrepen. Ga terug en controleer wat u hebt ingevuld.
error-too-large-title = Te veel gegevens
error-too-large-message = Het formulier dat u verstuurde is groter dan lockbox accepteert.
error-internal-title = Er ging iets mis
error-internal-message = lockbox kon dit verzoek niet voltooien. Er is niets gewijzigd. Probeer het zo opnieuw.

error-email-required = Vul een e-mailadres in.
error-email-invalid = Vul een geldig e-mailadres in, zoals naam@example.com.
error-display-name-required = Vul een weergavenaam in.
error-display-name-invalid = Een weergavenaam heeft hooguit 100 tekens en geen stuurtekens.
error-password-too-short = Een wachtwoord heeft minstens 12 tekens nodig.
error-password-too-long = Een wachtwoord heeft hooguit 128 tekens.
error-tenant-name-required = Vul de naam van de organisatie in.
error-tenant-name-invalid = De naam van een organisatie heeft hooguit 100 tekens en geen stuurtekens.

nav-new-request = Nieuwe aanvraag
nav-my-requests = Mijn aanvragen
nav-queue = Goedkeuringswachtrij

field-request-id = Aanvraag-ID
field-status = Status
field-tenant = Klantorganisatie
field-requester = Aanvrager
field-service-request = Nummer van de serviceaanvraag
field-workload = Workload
field-duration = Aangevraagde duur
field-duration-minutes = Aangevraagde duur in minuten (1 tot { $max })
field-requested-at = Aangevraagd op
field-deadline = Termijn
field-expires-at = Verloopt op
field-access-ends-at = Toegang eindigt op
field-justification = Motivering
field-comment = Opmerking (optioneel)
field-actions = Acties

status-pending-manager = Wacht op goedkeuring manager
status-pending-customer = Wacht op goedkeuring klant
status-approved = Goedgekeurd
status-rejected = Afgewezen
status-denied = Geweigerd
status-expired = Verlopen
status-cancelled = Geannuleerd
status-revoked = Ingetrokken
status-ended = Beëindigd

state-word-pending-manager = ingediend
state-word-pending-customer = door een manager goedgekeurd en naar de klant gestuurd
state-word-approved = goedgekeurd
state-word-rejected = afgewezen
state-word-denied = geweigerd
state-word-expired = verlopen
state-word-cancelled = geannuleerd
state-word-revoked = ingetrokken
state-word-ended = beëindigd

event-filed = Aanvraag ingediend
event-manager-approved = Goedgekeurd door een supportmanager
event-manager-rejected = Afgewezen door een supportmanager
event-customer-approved = Goedgekeurd door de klant
event-customer-denied = Geweigerd door de klant
event-cancelled = Geannuleerd
event-revoked = Toegang ingetrokken door de klant
event-expired = Verlopen zonder beslissing van de klant
event-ended = Toegangsperiode voorbij; toegang automatisch ingetrokken

actor-system = Systeem
actor-customer = Klant ({ $tenant })

refusal-expired = Deze aanvraag is verlopen op { $at }.
refusal-window-ended = De toegang onder deze aanvraag is beëindigd op { $at }.
refusal-already = Deze aanvraag is al { $state } door { $who } op { $at }.
refusal-two-person = U hebt deze aanvraag zelf ingediend; een andere supportmanager moet erover beslissen.
refusal-not-your-request = Alleen de engineer die een aanvraag indiende, kan die annuleren.
refusal-not-your-decision = Uw rol kan deze beslissing niet nemen.

my-requests-title = Mijn aanvragen
my-requests-empty = U hebt nog geen toegangsaanvragen ingediend.
queue-title = Goedkeuringswachtrij
queue-empty = Er wachten geen aanvragen op een supportmanager.
queue-own = U hebt deze aanvraag ingediend; een andere supportmanager moet erover beslissen.
request-title = Aanvraag
timeline-heading = Tijdlijn

action-approve = Goedkeuren
action-reject = Afwijzen
action-cancel = Aanvraag annuleren
action-back = Terug naar de aanvraag

confirm-approve-title = Deze aanvraag goedkeuren?
confirm-approve-question = Na goedkeuring gaat de aanvraag naar de klant als diens Klanten-lockbox aanstaat; anders begint de toegang nu.
confirm-approve-button = Ja, goedkeuren
confirm-reject-title = Deze aanvraag afwijzen?
confirm-reject-question = De engineer krijgt onder deze aanvraag geen toegang.
confirm-reject-button = Ja, afwijzen
confirm-cancel-title = Deze aanvraag annuleren?
confirm-cancel-question = Een geannuleerde aanvraag kan niet worden heropend; dien later zo nodig een nieuwe in.
confirm-cancel-button = Ja, aanvraag annuleren

new-request-title = Nieuwe toegangsaanvraag
new-request-intro = Vraag tijdelijke toegang aan tot de inhoud van één klant voor één supportzaak. Eerst keurt een supportmanager goed, daarna de klant als diens Klanten-lockbox aanstaat.
form-has-errors = Sommige velden vragen uw aandacht; zie de meldingen hieronder.
choose-tenant = Kies een organisatie
choose-workload = Kies een workload
new-request-submit = Aanvraag indienen

flash-filed = Uw aanvraag is ingediend en wacht op een supportmanager.
flash-approved-to-customer = U hebt de aanvraag goedgekeurd; die wacht nu op goedkeuring door de klant.
flash-approved-open = U hebt de aanvraag goedgekeurd; de Klanten-lockbox van de klant staat uit, dus de toegang is open tot { $at }.
flash-rejected = U hebt de aanvraag afgewezen.
flash-cancelled = De aanvraag is geannuleerd.

error-sr-required = Vul het nummer van de serviceaanvraag in.
error-sr-too-long = Een nummer van een serviceaanvraag heeft hooguit 64 tekens en geen stuurtekens.
error-justification-required = Leg uit waarom u toegang nodig hebt.
error-justification-too-long = Een motivering heeft hooguit 2.000 tekens.
error-duration-invalid = Vul de duur in als een geheel aantal minuten.
error-duration-range = Kies een duur van 1 tot { $max } minuten.
error-comment-too-long = Een opmerking heeft hooguit 1.000 tekens.
error-tenant-choose = Kies de klantorganisatie.
error-workload-choose = Kies Exchange Online, SharePoint Online of OneDrive for Business.
error-duplicate-window = U hebt al goedgekeurde toegang tot deze organisatie en workload tot { $at }; gebruik die in plaats van een nieuwe aanvraag.

nav-lockbox-requests = Ondersteuning › Klanten-lockbox-aanvragen
nav-org-settings = Instellingen › Organisatie-instellingen
nav-roles = Rollen

settings-breadcrumb = Instellingen › Organisatie-instellingen › Beveiliging en privacy
settings-lockbox-title = Klanten-lockbox
settings-require-approval = Goedkeuring vereisen voor alle aanvragen voor gegevenstoegang
settings-read-only = Alleen een globale beheerder kan deze instelling wijzigen.
settings-confirm-off-title = Klanten-lockbox uitzetten?
settings-confirm-off-question = Als Klanten-lockbox uitstaat, geeft de goedkeuring van een supportmanager alleen al een engineer toegang tot uw inhoud. Aanvragen die al op u wachten, blijven op uw beslissing wachten.
settings-confirm-off-button = Ja, uitzetten
settings-keep-on = Aan laten
flash-lockbox-on = Klanten-lockbox staat nu aan: aanvragen voor gegevenstoegang hebben uw goedkeuring nodig.
flash-lockbox-off = Klanten-lockbox staat nu uit.
action-save = Opslaan

requests-breadcrumb = Ondersteuning
requests-title = Klanten-lockbox-aanvragen
requests-empty-title = Nog geen Klanten-lockbox-aanvragen
requests-empty-filtered = Geen aanvragen voldoen aan deze filters.
filter-any-state = Elke status
filter-from = Aangevraagd vanaf
filter-until = Aangevraagd tot en met
action-filter = Filteren
action-clear-filters = Filters wissen
action-next-page = Volgende pagina
error-filter-state = Kies een status uit de lijst.
error-filter-date = Vul datums in als JJJJ-MM-DD.
error-filter-order = De datum "tot en met" ligt vóór de datum "vanaf".
error-filter-page = Deze paginalink is niet meer geldig; begin bij de eerste pagina.

customer-approve-link = Goedkeuren
customer-approve-title = Deze aanvraag goedkeuren?
customer-approve-question = De engineer krijgt vanaf nu voor de aangevraagde duur toegang tot uw inhoud voor deze workload. U kunt dat altijd intrekken.
customer-approve-button = Ja, goedkeuren
customer-deny-link = Weigeren
customer-deny-title = Deze aanvraag weigeren?
customer-deny-question = De engineer krijgt onder deze aanvraag geen toegang.
customer-deny-button = Ja, weigeren
customer-cancel-link = Aanvraag annuleren
customer-cancel-title = Deze aanvraag annuleren?
customer-cancel-question = De aanvraag eindigt zonder toegang; de provider kan een nieuwe indienen.
customer-cancel-button = Ja, annuleren
customer-revoke-link = Toegang intrekken
customer-revoke-title = Toegang nu intrekken?
customer-revoke-question = De toegang van de engineer eindigt direct; de volgende bewerking wordt geweigerd.
customer-revoke-button = Ja, toegang intrekken
flash-customer-approve = U hebt aanvraag { $id } goedgekeurd; de toegang eindigt op { $at }.
flash-customer-deny = U hebt aanvraag { $id } geweigerd.
flash-customer-cancel = U hebt aanvraag { $id } geannuleerd.
flash-customer-revoke = U hebt de toegang onder aanvraag { $id } ingetrokken.

roles-title = Rollen
roles-intro-admin = Wijs de rol Goedkeurder voor toegang tot Klanten-lockbox toe of neem die af, en voeg gebruikers toe. Uw organisatie houdt altijd minstens één globale beheerder.
roles-intro-read-only = Alleen een globale beheerder kan rollen wijzigen.
roles-you = u
roles-role-of = Rol van { $name }
roles-add-heading = Een gebruiker toevoegen
field-display-name = Weergavenaam
field-user-role = Rol
field-initial-password = Eerste wachtwoord (minstens 12 tekens)
action-change-role = Rol wijzigen
action-add-user = Gebruiker toevoegen
flash-role-changed = De rol is gewijzigd in { $role }.
flash-user-added = { $email } is toegevoegd.
error-last-global-admin = Uw organisatie moet minstens één globale beheerder houden; maak eerst iemand anders globale beheerder.
error-role-choose = Kies een rol uit de lijst.
error-email-taken = Dit e-mailadres heeft al een account in uw organisatie.
home-review-requests = Klanten-lockbox-aanvragen beoordelen
