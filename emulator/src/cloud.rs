//! Webex's two clouds on one emulator: commercial at the base URL, FedRAMP (Webex for
//! Government: `api-usgov.webex.com`, `idbroker-f.webex.com`) under `/fedramp`, with
//! the same paths below it. The path a request came to says which cloud answers.

/// Where FedRAMP's hosts live on the emulator.
pub(crate) const FEDRAMP_PREFIX: &str = "/fedramp";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Cloud {
    Commercial,
    FedRamp,
}

impl Cloud {
    pub fn of_path(path: &str) -> Cloud {
        match path.strip_prefix(FEDRAMP_PREFIX) {
            Some(rest) if rest.starts_with('/') => Cloud::FedRamp,
            _ => Cloud::Commercial,
        }
    }

    /// The base URL of this cloud on the emulator: `http://127.0.0.1:PORT[/fedramp]`.
    pub fn base(self, base_url: &str) -> String {
        match self {
            Cloud::Commercial => base_url.to_string(),
            Cloud::FedRamp => format!("{base_url}{FEDRAMP_PREFIX}"),
        }
    }

    /// The cluster part of Webex ids: `ciscospark://us/...` or, for FedRAMP,
    /// `ciscospark://urn:TEAM:us-gov-west-1_a1/...`.
    pub fn id_cluster(self) -> &'static str {
        match self {
            Cloud::Commercial => "us",
            Cloud::FedRamp => "urn:TEAM:us-gov-west-1_a1",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_prefix_picks_the_cloud() {
        assert_eq!(Cloud::of_path("/fedramp/v1/access_token"), Cloud::FedRamp);
        assert_eq!(Cloud::of_path("/v1/access_token"), Cloud::Commercial);
        assert_eq!(Cloud::of_path("/fedrampish/v1"), Cloud::Commercial);
        assert_eq!(Cloud::FedRamp.base("http://h:1"), "http://h:1/fedramp");
    }
}
