//! Bounded mixed load, and what each request of it saw. Three kinds of client run side by side
//! until told to stop (or until a request budget is spent):
//! - API-key clients, through the load balancer: `viewer` and `createIdentity` (whose
//!   acknowledged writes are kept, to be found again later);
//! - passkey clients that sign up and sign in with a software authenticator, each ceremony
//!   begun on one replica and finished on another, addressed directly, so the ceremony state
//!   must be shared through Redis;
//! - an OpenID Connect relying party running the authorization-code flow with PKCE through
//!   the load balancer, the hosted sign-in page's passkey sign-in in the middle.
//!
//! Nothing here panics on a failed request: each is recorded with its outcome, the flow it
//! belongs to stops, and the next flow starts.

use super::outcome::{Outcome, graphql_outcome, http_outcome};
use crate::oidc::{Pkce, param};
use crate::passkey::{
    BEGIN_REGISTRATION, BEGIN_SIGN_IN, Device, FINISH_REGISTRATION, FINISH_SIGN_IN,
};
use crate::{TestTenant, unique, unique_email};
use reqwest::header::{COOKIE, LOCATION, RETRY_AFTER, SET_COOKIE};
use reqwest::{RequestBuilder, StatusCode};
use serde_json::{Value, json};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use url::Url;

/// Requests one load run may make at most, whatever happens.
const REQUEST_BUDGET: usize = 6000;
/// Each request gives up after this.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// Where a request went.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    Balancer,
    Replica(usize),
}

/// Which client made it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Client {
    ApiKey,
    Passkey,
    Oidc,
}

/// One request and what its client saw.
#[derive(Clone, Debug)]
pub struct Record {
    pub client: Client,
    pub operation: &'static str,
    pub target: Target,
    /// The replica that answered (HAProxy's `X-Served-By`), when known.
    pub served_by: Option<String>,
    /// When the flow this request is a step of began (the request itself, for API keys).
    pub flow_started: Instant,
    pub started: Instant,
    pub ended: Instant,
    pub outcome: Outcome,
}

impl Record {
    /// Whether replica `index` handled it or was asked to.
    pub fn touched(&self, index: usize) -> bool {
        self.target == Target::Replica(index)
            || self.served_by.as_deref() == Some(super::haproxy::server_name(index).as_str())
    }
}

/// An identity whose `createIdentity` answered without errors.
#[derive(Clone, Debug)]
pub struct Acknowledged {
    pub email: String,
    pub identity_id: String,
}

/// The application the OIDC client is, and the passkey of the user it signs in.
pub struct OidcClient {
    pub client_id: String,
    pub client_secret: String,
    pub redirect_uri: String,
    /// One OIDC client uses it at a time (its sign counter moves with each sign-in).
    pub device: tokio::sync::Mutex<Device>,
    pub credential_id: String,
}

/// Which replicas clients may address directly: the test takes one out before stopping it
/// (as a client would stop using an address it was told is going away).
pub struct Rotation {
    members: Vec<AtomicBool>,
    next: AtomicUsize,
}

impl Rotation {
    pub fn new(replicas: usize) -> Self {
        Self {
            members: (0..replicas).map(|_| AtomicBool::new(true)).collect(),
            next: AtomicUsize::new(0),
        }
    }

    pub fn set(&self, index: usize, member: bool) {
        self.members[index].store(member, Ordering::SeqCst);
    }

    /// `count` replicas in rotation, each different from the one before it, taken in turn.
    fn pick(&self, count: usize) -> Vec<usize> {
        let members: Vec<usize> = (0..self.members.len())
            .filter(|&i| self.members[i].load(Ordering::SeqCst))
            .collect();
        assert!(!members.is_empty(), "no replica in rotation");
        let start = self.next.fetch_add(1, Ordering::Relaxed);
        (0..count)
            .map(|step| members[(start + step) % members.len()])
            .collect()
    }
}

/// What every client shares.
pub struct Context {
    pub http: reqwest::Client,
    pub balancer: String,
    pub replicas: Vec<String>,
    pub public_url: String,
    pub tenant: TestTenant,
    pub oidc: OidcClient,
    pub rotation: Rotation,
}

impl Context {
    /// An HTTP client that follows no redirect (each step of a flow is checked).
    pub fn http_client() -> reqwest::Client {
        reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(REQUEST_TIMEOUT)
            .build()
            .unwrap()
    }

    fn base(&self, target: Target) -> &str {
        match target {
            Target::Balancer => &self.balancer,
            Target::Replica(index) => &self.replicas[index],
        }
    }
}

/// What a load run saw.
#[derive(Default)]
pub struct Observed {
    pub records: Vec<Record>,
    pub acknowledged: Vec<Acknowledged>,
}

struct Shared {
    context: Arc<Context>,
    stop: AtomicBool,
    observed: Mutex<Observed>,
    sent: AtomicUsize,
}

impl Shared {
    fn running(&self) -> bool {
        !self.stop.load(Ordering::SeqCst) && self.sent.load(Ordering::SeqCst) < REQUEST_BUDGET
    }
}

/// Clients running in the background.
pub struct Load {
    shared: Arc<Shared>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Load {
    /// Starts two API-key clients, one passkey client and one OIDC client.
    pub fn start(context: Arc<Context>) -> Self {
        let shared = Arc::new(Shared {
            context,
            stop: AtomicBool::new(false),
            observed: Mutex::new(Observed::default()),
            sent: AtomicUsize::new(0),
        });
        let tasks = vec![
            tokio::spawn(api_key_client(shared.clone())),
            tokio::spawn(api_key_client(shared.clone())),
            tokio::spawn(passkey_client(shared.clone())),
            tokio::spawn(oidc_client(shared.clone())),
        ];
        Self { shared, tasks }
    }

    /// Stops the clients (each finishes the request in hand) and returns what they saw.
    pub async fn stop(self) -> Observed {
        self.shared.stop.store(true, Ordering::SeqCst);
        for task in self.tasks {
            task.await.expect("a load client panicked");
        }
        std::mem::take(&mut *self.shared.observed.lock().unwrap())
    }
}

/// One flow of one client: its requests are recorded under its start.
struct Flow<'a> {
    shared: &'a Shared,
    client: Client,
    started: Instant,
}

/// An HTTP answer.
struct Answer {
    status: StatusCode,
    location: Option<String>,
    set_cookie: Option<String>,
    retry_after: bool,
    body: String,
}

impl<'a> Flow<'a> {
    fn new(shared: &'a Shared, client: Client) -> Self {
        Self {
            shared,
            client,
            started: Instant::now(),
        }
    }

    fn context(&self) -> &Context {
        &self.shared.context
    }

    /// Sends `request`, classifies the answer with `classify`, records it; the answer when
    /// the outcome is a success.
    async fn send(
        &self,
        target: Target,
        operation: &'static str,
        request: RequestBuilder,
        classify: impl FnOnce(&Answer) -> Outcome,
    ) -> Option<Answer> {
        self.shared.sent.fetch_add(1, Ordering::SeqCst);
        let started = Instant::now();
        let (outcome, served_by, answer) = match request.send().await {
            Err(error) => (Outcome::Failed(format!("no answer: {error}")), None, None),
            Ok(response) => {
                let header = |name| {
                    response
                        .headers()
                        .get(name)
                        .and_then(|v| v.to_str().ok())
                        .map(str::to_owned)
                };
                let served_by = header("x-served-by").filter(|s| !s.is_empty());
                let answer = Answer {
                    status: response.status(),
                    location: header(LOCATION.as_str()),
                    set_cookie: header(SET_COOKIE.as_str()),
                    retry_after: header(RETRY_AFTER.as_str()).is_some(),
                    body: String::new(),
                };
                match response.text().await {
                    Err(error) => (
                        Outcome::Failed(format!("body cut: {error}")),
                        served_by,
                        None,
                    ),
                    Ok(body) => {
                        let answer = Answer { body, ..answer };
                        (classify(&answer), served_by, Some(answer))
                    }
                }
            }
        };
        let ok = outcome == Outcome::Ok;
        self.shared.observed.lock().unwrap().records.push(Record {
            client: self.client,
            operation,
            target,
            served_by,
            flow_started: self.started,
            started,
            ended: Instant::now(),
            outcome,
        });
        if ok { answer } else { None }
    }

    /// A GraphQL request to the tenant's API; its `data` when it succeeded.
    async fn graphql(
        &self,
        target: Target,
        operation: &'static str,
        token: Option<&str>,
        query: &str,
        variables: Value,
    ) -> Option<Value> {
        let context = self.context();
        let mut request = context
            .http
            .post(format!(
                "{}/t/{}/graphql",
                context.base(target),
                context.tenant.slug
            ))
            .json(&json!({ "query": query, "variables": variables }));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let answer = self
            .send(target, operation, request, |answer| {
                graphql_outcome(answer.status, &answer.body).0
            })
            .await?;
        graphql_outcome(answer.status, &answer.body).1
    }

    /// A request to the tenant's OAuth endpoints (through the load balancer) whose answer is
    /// a success when `expected` says so.
    async fn oauth(
        &self,
        operation: &'static str,
        request: impl FnOnce(&reqwest::Client, String) -> RequestBuilder,
        expected: impl FnOnce(StatusCode, Option<&str>) -> bool,
    ) -> Option<Answer> {
        let context = self.context();
        let base = format!("{}/t/{}/oauth2", context.balancer, context.tenant.slug);
        self.send(
            Target::Balancer,
            operation,
            request(&context.http, base),
            |answer| {
                let location = answer.location.as_deref();
                http_outcome(
                    answer.status,
                    location,
                    answer.retry_after,
                    &answer.body,
                    expected(answer.status, location),
                )
            },
        )
        .await
    }
}

async fn pause(shared: &Shared, between: Duration) {
    if shared.running() {
        tokio::time::sleep(between).await;
    }
}

/// `viewer` and `createIdentity` with the tenant's owner key, through the load balancer.
async fn api_key_client(shared: Arc<Shared>) {
    const VIEWER: &str = "{ viewer { kind } }";
    const CREATE: &str = "mutation($input: CreateIdentityInput!) { createIdentity(input: $input) { identity { id email } } }";
    let key = shared.context.tenant.api_key.clone();
    while shared.running() {
        Flow::new(&shared, Client::ApiKey)
            .graphql(Target::Balancer, "viewer", Some(&key), VIEWER, json!({}))
            .await;
        let email = unique_email();
        let created = Flow::new(&shared, Client::ApiKey)
            .graphql(
                Target::Balancer,
                "createIdentity",
                Some(&key),
                CREATE,
                json!({ "input": { "email": email } }),
            )
            .await;
        if let Some(data) = created {
            let identity = &data["createIdentity"]["identity"];
            assert_eq!(identity["email"], email.as_str(), "{data}");
            shared
                .observed
                .lock()
                .unwrap()
                .acknowledged
                .push(Acknowledged {
                    email,
                    identity_id: identity["id"].as_str().unwrap().to_owned(),
                });
        }
        pause(&shared, Duration::from_millis(20)).await;
    }
}

/// Signs up with a new passkey (begun on one replica, finished on the next) and signs in with
/// it (begun there, finished on a third when there is one).
async fn passkey_client(shared: Arc<Shared>) {
    while shared.running() {
        let flow = Flow::new(&shared, Client::Passkey);
        let replicas = shared.context.rotation.pick(3);
        let mut device = Device::for_origin(&shared.context.public_url);
        sign_up_and_in(&flow, &mut device, &replicas).await;
        pause(&shared, Duration::from_millis(50)).await;
    }
}

async fn sign_up_and_in(flow: &Flow<'_>, device: &mut Device, replicas: &[usize]) -> Option<()> {
    let email = unique_email();
    let begun = flow
        .graphql(
            Target::Replica(replicas[0]),
            "beginPasskeyRegistration",
            None,
            BEGIN_REGISTRATION,
            json!({ "input": { "email": email, "displayName": "Load" } }),
        )
        .await?;
    let begun = &begun["beginPasskeyRegistration"];
    let credential = device.create(&begun["options"]);
    let credential_id = credential["id"].as_str().unwrap().to_owned();
    let registered = flow
        .graphql(
            Target::Replica(replicas[1]),
            "finishPasskeyRegistration",
            None,
            FINISH_REGISTRATION,
            json!({ "input": { "ceremonyId": begun["ceremonyId"], "credential": credential } }),
        )
        .await?;
    let identity = registered["finishPasskeyRegistration"]["identity"]["id"].clone();
    let (begin, finish) = (Target::Replica(replicas[1]), Target::Replica(replicas[2]));
    let signed_in = sign_in(flow, device, &credential_id, begin, finish).await?;
    assert_eq!(
        signed_in["identity"]["id"], identity,
        "the passkey signs in the identity it was registered for"
    );
    Some(())
}

/// A discoverable passkey sign-in, begun at `begin` and finished at `finish`; the payload of
/// `finishPasskeySignIn`.
async fn sign_in(
    flow: &Flow<'_>,
    device: &mut Device,
    credential_id: &str,
    begin: Target,
    finish: Target,
) -> Option<Value> {
    let begun = flow
        .graphql(
            begin,
            "beginPasskeySignIn",
            None,
            BEGIN_SIGN_IN,
            json!({ "input": {} }),
        )
        .await?;
    let begun = &begun["beginPasskeySignIn"];
    let assertion = device.get(&begun["options"], Some(credential_id));
    let finished = flow
        .graphql(
            finish,
            "finishPasskeySignIn",
            None,
            FINISH_SIGN_IN,
            json!({ "input": { "ceremonyId": begun["ceremonyId"], "credential": assertion } }),
        )
        .await?;
    Some(finished["finishPasskeySignIn"].clone())
}

/// The authorization-code flow with PKCE, through the load balancer.
async fn oidc_client(shared: Arc<Shared>) {
    while shared.running() {
        let flow = Flow::new(&shared, Client::Oidc);
        code_flow(&flow).await;
        pause(&shared, Duration::from_millis(50)).await;
    }
}

async fn code_flow(flow: &Flow<'_>) -> Option<()> {
    let context = flow.context();
    let oidc = &context.oidc;
    let pkce = Pkce::new();
    let state = unique("state");
    let parked = flow
        .oauth(
            "authorize",
            |http, base| {
                http.get(format!("{base}/authorize")).query(&[
                    ("response_type", "code"),
                    ("client_id", &oidc.client_id),
                    ("redirect_uri", &oidc.redirect_uri),
                    ("scope", "openid email"),
                    ("state", &state),
                    ("code_challenge", &pkce.challenge),
                    ("code_challenge_method", "S256"),
                ])
            },
            |status, location| {
                status == StatusCode::SEE_OTHER
                    && location.is_some_and(|l| l.contains("authorization_request="))
            },
        )
        .await?;
    let sign_in_page = Url::parse(&context.balancer)
        .unwrap()
        .join(parked.location.as_deref().unwrap())
        .unwrap();
    let handle = param(&sign_in_page, "authorization_request")?;
    // The hosted page signs in with the passkey over GraphQL, then trades the session's
    // access token for the provider's cookie.
    let signed_in = sign_in(
        flow,
        &mut *oidc.device.lock().await,
        &oidc.credential_id,
        Target::Balancer,
        Target::Balancer,
    )
    .await?;
    let access_token = signed_in["accessToken"].as_str()?.to_owned();
    let session = flow
        .oauth(
            "session",
            |http, base| {
                http.post(format!("{base}/session"))
                    .bearer_auth(&access_token)
            },
            |status, _| status == StatusCode::NO_CONTENT,
        )
        .await?;
    let cookie = session.set_cookie?.split(';').next()?.to_owned();
    let redirected = flow
        .oauth(
            "authorize (signed in)",
            |http, base| {
                http.get(format!("{base}/authorize"))
                    .query(&[("authorization_request", &handle)])
                    .header(COOKIE, &cookie)
            },
            |status, location| {
                status == StatusCode::FOUND
                    && location
                        .is_some_and(|l| l.starts_with(&oidc.redirect_uri) && l.contains("code="))
            },
        )
        .await?;
    let callback = Url::parse(redirected.location.as_deref()?).ok()?;
    assert_eq!(param(&callback, "state").as_deref(), Some(state.as_str()));
    let code = param(&callback, "code")?;
    flow.oauth(
        "token",
        |http, base| {
            http.post(format!("{base}/token"))
                .basic_auth(&oidc.client_id, Some(&oidc.client_secret))
                .form(&[
                    ("grant_type", "authorization_code"),
                    ("code", &code),
                    ("redirect_uri", &oidc.redirect_uri),
                    ("code_verifier", &pkce.verifier),
                ])
        },
        |status, _| status == StatusCode::OK,
    )
    .await?;
    Some(())
}
