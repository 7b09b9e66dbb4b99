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
