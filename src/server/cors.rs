//! CORS for the mock and its admin API: any origin mirrored back with credentials (the mock
//! binds loopback by default), or only the origins given with `--cors-origin`; any request
//! method and header; the mock's own headers readable by scripts; preflights cached for a day.
//!
//! This answers exactly as tower-http's `CorsLayer::very_permissive()` with those settings did
//! (same headers, same values, same order; `tests::answers_as_tower_http_did` compares the two
//! on every kind of request), with the header values built once instead of per request: the
//! tower-http layer built a header map and joined its `Vary` list for every request, ~5,200
//! instructions of the ~60,000 a compare-record request cost at default settings (issue 12).

use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::http::header::{
    ACCESS_CONTROL_ALLOW_CREDENTIALS, ACCESS_CONTROL_ALLOW_HEADERS, ACCESS_CONTROL_ALLOW_METHODS,
    ACCESS_CONTROL_ALLOW_ORIGIN, ACCESS_CONTROL_EXPOSE_HEADERS, ACCESS_CONTROL_MAX_AGE,
    ACCESS_CONTROL_REQUEST_HEADERS, ACCESS_CONTROL_REQUEST_METHOD, ORIGIN, VARY,
};
use axum::http::{HeaderValue, Method, Request, Response};

/// The headers scripts may read besides the safelisted ones: the mock's own (`evalmock-error`,
/// `evalmock-api-version`; a test checks the names against the constants).
const EXPOSED: &str = "evalmock-error,evalmock-api-version";
/// What the answer depends on, so a cache keeps answers per origin and preflight.
const VARIES: &str = "origin, access-control-request-method, access-control-request-headers";

/// The layer: wraps the router once at start-up.
#[derive(Debug, Clone)]
pub struct CorsLayer {
    config: Arc<Config>,
}

#[derive(Debug)]
struct Config {
    /// `None`: any origin, mirrored back. Otherwise only these (exact match).
    allowed: Option<Vec<HeaderValue>>,
    max_age: HeaderValue,
}

impl CorsLayer {
    /// Any origin when `origins` is empty, else only those (a trailing `/` is ignored, as
    /// browsers send none). Preflights may be cached for `max_age`.
    pub fn new(origins: &[String], max_age: Duration) -> CorsLayer {
        let allowed = (!origins.is_empty()).then(|| {
            origins
                .iter()
                .filter_map(|o| HeaderValue::from_str(o.trim_end_matches('/')).ok())
                .collect()
        });
        CorsLayer {
            config: Arc::new(Config {
                allowed,
                max_age: HeaderValue::from(max_age.as_secs()),
            }),
        }
    }
}

impl Config {
    /// The `Access-Control-Allow-Origin` a request's `Origin` gets, if any.
    fn allow_origin(&self, origin: Option<&HeaderValue>) -> Option<HeaderValue> {
        let origin = origin?;
        match &self.allowed {
            None => Some(origin.clone()),
            Some(list) => list.contains(origin).then(|| origin.clone()),
        }
    }
}

impl<S> tower::Layer<S> for CorsLayer {
    type Service = Cors<S>;

    fn layer(&self, inner: S) -> Cors<S> {
        Cors {
            inner,
            config: self.config.clone(),
        }
    }
}

/// The service [`CorsLayer`] makes.
#[derive(Debug, Clone)]
pub struct Cors<S> {
    inner: S,
    config: Arc<Config>,
}

impl<S, ReqBody, ResBody> tower::Service<Request<ReqBody>> for Cors<S>
where
    S: tower::Service<Request<ReqBody>, Response = Response<ResBody>>,
    S::Future: Unpin,
    ResBody: Default + Unpin,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = CorsFuture<S::Future, ResBody>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        let headers = request.headers();
        let allow_origin = self.config.allow_origin(headers.get(ORIGIN));
        // Every OPTIONS request is answered as a preflight, as tower-http did.
        if request.method() == Method::OPTIONS {
            let mut response = Response::new(ResBody::default());
            let out = response.headers_mut();
            out.insert(
                ACCESS_CONTROL_ALLOW_CREDENTIALS,
                HeaderValue::from_static("true"),
            );
            out.insert(VARY, HeaderValue::from_static(VARIES));
            // Any method and header: the ones the browser asks about are allowed.
            if let Some(method) = headers.get(ACCESS_CONTROL_REQUEST_METHOD) {
                out.insert(ACCESS_CONTROL_ALLOW_METHODS, method.clone());
            }
            if let Some(names) = headers.get(ACCESS_CONTROL_REQUEST_HEADERS) {
                out.insert(ACCESS_CONTROL_ALLOW_HEADERS, names.clone());
            }
            out.insert(ACCESS_CONTROL_MAX_AGE, self.config.max_age.clone());
            if let Some(origin) = allow_origin {
                out.insert(ACCESS_CONTROL_ALLOW_ORIGIN, origin);
            }
            return CorsFuture::Preflight(Some(response));
        }
        CorsFuture::Call {
            future: self.inner.call(request),
            allow_origin,
        }
    }
}

/// The answer: a preflight's at once, else the inner service's with the CORS headers added.
#[derive(Debug)]
pub enum CorsFuture<F, B> {
    Preflight(Option<Response<B>>),
    Call {
        future: F,
        allow_origin: Option<HeaderValue>,
    },
}

impl<F, B, E> std::future::Future for CorsFuture<F, B>
where
    F: std::future::Future<Output = Result<Response<B>, E>> + Unpin,
    B: Unpin,
{
    type Output = Result<Response<B>, E>;

    fn poll(self: std::pin::Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // Every field is `Unpin` (the inner future and the body by the bounds; axum's are), so
        // the future is too.
        match self.get_mut() {
            CorsFuture::Preflight(response) => match response.take() {
                Some(response) => Poll::Ready(Ok(response)),
                None => Poll::Pending,
            },
            CorsFuture::Call {
                future,
                allow_origin,
            } => {
                let mut response = std::task::ready!(std::pin::Pin::new(future).poll(cx))?;
                let out = response.headers_mut();
                // `Vary` may already have values: added to, never replaced.
                out.append(VARY, HeaderValue::from_static(VARIES));
                out.insert(
                    ACCESS_CONTROL_ALLOW_CREDENTIALS,
                    HeaderValue::from_static("true"),
                );
                if let Some(origin) = allow_origin.take() {
                    out.insert(ACCESS_CONTROL_ALLOW_ORIGIN, origin);
                }
                out.insert(
                    ACCESS_CONTROL_EXPOSE_HEADERS,
                    HeaderValue::from_static(EXPOSED),
                );
                Poll::Ready(Ok(response))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{API_VERSION_HEADER, MOCK_ERROR_HEADER};
    use axum::body::Body;
    use tower::{Layer as _, ServiceExt as _};

    #[test]
    fn the_exposed_headers_are_the_mocks_own() {
        assert_eq!(EXPOSED, format!("{MOCK_ERROR_HEADER},{API_VERSION_HEADER}"));
    }

    /// An inner service that answers with a header of its own, a `Vary` and a value the CORS
    /// layer overwrites.
    async fn inner(_: Request<Body>) -> Result<Response<Body>, std::convert::Infallible> {
        let mut response = Response::new(Body::from("answer"));
        let headers = response.headers_mut();
        headers.insert("content-type", HeaderValue::from_static("application/json"));
        headers.insert(API_VERSION_HEADER, HeaderValue::from_static("2026-09"));
        Ok(response)
    }

    async fn inner_with_vary(_: Request<Body>) -> Result<Response<Body>, std::convert::Infallible> {
        let mut response = Response::new(Body::empty());
        let headers = response.headers_mut();
        headers.insert(VARY, HeaderValue::from_static("accept"));
        headers.insert(
            ACCESS_CONTROL_ALLOW_CREDENTIALS,
            HeaderValue::from_static("false"),
        );
        Ok(response)
    }

    fn reference(origins: &[String]) -> tower_http::cors::CorsLayer {
        let layer = tower_http::cors::CorsLayer::very_permissive()
            .expose_headers([MOCK_ERROR_HEADER, API_VERSION_HEADER])
            .max_age(Duration::from_secs(86400));
        if origins.is_empty() {
            return layer;
        }
        let allowed: Vec<HeaderValue> = origins
            .iter()
            .filter_map(|o| HeaderValue::from_str(o.trim_end_matches('/')).ok())
            .collect();
        layer.allow_origin(tower_http::cors::AllowOrigin::list(allowed))
    }

    fn requests() -> Vec<Request<Body>> {
        let mut all = Vec::new();
        for method in [Method::GET, Method::POST, Method::OPTIONS, Method::DELETE] {
            for origin in [
                None,
                Some("http://localhost:5173"),
                Some("http://evil.example"),
            ] {
                for asks in [
                    None,
                    Some(("POST", None)),
                    Some(("PUT", Some("authorization, content-type"))),
                ] {
                    let mut request = Request::builder().method(method.clone()).uri("/v1/x");
                    if let Some(origin) = origin {
                        request = request.header(ORIGIN, origin);
                    }
                    if let Some((asked_method, asked_headers)) = asks {
                        request = request.header(ACCESS_CONTROL_REQUEST_METHOD, asked_method);
                        if let Some(names) = asked_headers {
                            request = request.header(ACCESS_CONTROL_REQUEST_HEADERS, names);
                        }
                    }
                    all.push(request.body(Body::empty()).expect("a request"));
                }
            }
        }
        all
    }

    fn shown(response: &Response<Body>) -> (u16, Vec<(String, String)>) {
        let headers = response
            .headers()
            .iter()
            .map(|(name, value)| {
                (
                    name.to_string(),
                    String::from_utf8_lossy(value.as_bytes()).into_owned(),
                )
            })
            .collect();
        (response.status().as_u16(), headers)
    }

    #[tokio::test]
    async fn answers_as_tower_http_did() {
        for origins in [
            vec![],
            vec![
                "http://localhost:5173/".to_string(),
                "https://app.example.com".to_string(),
            ],
        ] {
            let ours = CorsLayer::new(&origins, Duration::from_secs(86400));
            let theirs = reference(&origins);
            let mut compared = 0;
            for (ours_request, their_request) in requests().into_iter().zip(requests()) {
                let described = format!("{ours_request:?} with origins {origins:?}");
                let want = theirs
                    .layer(tower::service_fn(inner))
                    .oneshot(their_request)
                    .await
                    .expect("answers");
                let got = ours
                    .layer(tower::service_fn(|r| Box::pin(inner(r))))
                    .oneshot(ours_request)
                    .await
                    .expect("answers");
                assert_eq!(shown(&got), shown(&want), "{described}");
                compared += 1;
            }
            assert_eq!(compared, 36);
            let want = theirs
                .layer(tower::service_fn(inner_with_vary))
                .oneshot(Request::new(Body::empty()))
                .await
                .expect("answers");
            let got = ours
                .layer(tower::service_fn(|r| Box::pin(inner_with_vary(r))))
                .oneshot(Request::new(Body::empty()))
                .await
                .expect("answers");
            assert_eq!(shown(&got), shown(&want), "an answer with its own Vary");
        }
    }
}
