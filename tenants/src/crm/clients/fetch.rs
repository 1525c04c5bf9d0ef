//! Reading from the CRMs for pulls: contacts changed since a cursor (HubSpot CRM search on
//! `lastmodifieddate`, a Salesforce SOQL query on `SystemModstamp`, a Dataverse query on
//! `modifiedon`), each with its company or account when the connector pulls organizations,
//! and one HubSpot contact by id (HubSpot's webhooks carry ids only).

use super::http::check;
use super::{Clients, Failure, odata, text};
use crate::crm::connector::{Connector, ConnectorKind};
use crate::crm::records::{RemoteContract, RemoteRecord};
use chrono::{DateTime, SecondsFormat, TimeZone, Utc};
use reqwest::StatusCode;
use serde_json::{Map, Value, json};

/// Records read per request.
pub(super) const PAGE: usize = 100;

/// One page of changed records (and, for pulls of deals, the contracts they are), the cursor
/// after it, and whether more may follow.
pub(crate) struct PulledPage {
    pub records: Vec<RemoteRecord>,
    pub contracts: Vec<RemoteContract>,
    pub cursor: Option<String>,
    pub more: bool,
}

/// The CRM fields a subject's mapping reads.
pub(super) fn mapped_fields(connector: &Connector, subject: &str) -> Vec<String> {
    connector.field_mapping[subject]
        .as_object()
        .map(|map| map.keys().cloned().collect())
        .unwrap_or_default()
}

/// `first` followed by those of `more` not in it already.
pub(super) fn columns(first: &[&str], more: Vec<String>) -> Vec<String> {
    let mut all: Vec<String> = first.iter().map(|c| (*c).to_owned()).collect();
    for column in more {
        if !all.contains(&column) {
            all.push(column);
        }
    }
    all
}

/// Whether the connector pulls the contacts of won deals (opportunities) rather than every
/// changed contact.
pub(super) fn won_deals(connector: &Connector) -> bool {
    connector.settings["pullFrom"].as_str() == Some("closedWonDeals")
}

/// HubSpot record ids are numbers; anything else is refused, so that no answer can put
/// another path into the next request's URL.
pub(super) fn id_of(value: &Value) -> Option<String> {
    match value {
        Value::String(id)
            if !id.is_empty() && id.len() <= 30 && id.bytes().all(|b| b.is_ascii_digit()) =>
        {
            Some(id.clone())
        }
        Value::Number(n) => n.as_u64().map(|n| n.to_string()),
        _ => None,
    }
}

pub(super) fn pulls_organizations(connector: &Connector) -> bool {
    connector.settings["pullOrganizations"].as_bool() == Some(true)
}

/// A CRM's modified stamp: RFC 3339, Salesforce's `+0000` form, or epoch milliseconds.
pub(super) fn stamp(value: &Value) -> Option<DateTime<Utc>> {
    let text = match value {
        Value::Number(n) => {
            return n
                .as_i64()
                .and_then(|ms| Utc.timestamp_millis_opt(ms).single());
        }
        Value::String(text) => text,
        _ => return None,
    };
    if let Ok(ms) = text.parse::<i64>() {
        return Utc.timestamp_millis_opt(ms).single();
    }
    DateTime::parse_from_rfc3339(text)
        .or_else(|_| DateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f%z"))
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

pub(super) fn cursor_time(cursor: Option<&str>) -> Option<DateTime<Utc>> {
    cursor
        .and_then(|c| DateTime::parse_from_rfc3339(c).ok())
        .map(|t| t.with_timezone(&Utc))
}

/// The latest of the cursor and the records' stamps, as the new cursor.
pub(super) fn advance(
    cursor: Option<&str>,
    stamps: impl Iterator<Item = Option<DateTime<Utc>>>,
) -> Option<String> {
    stamps
        .flatten()
        .chain(cursor_time(cursor))
        .max()
        .map(|t| t.to_rfc3339_opts(SecondsFormat::Millis, true))
}

/// A record's fields without the CRM's bookkeeping members.
pub(super) fn fields_of(object: &Value, skip: &[&str]) -> Map<String, Value> {
    object
        .as_object()
        .map(|map| {
            map.iter()
                .filter(|(key, _)| !skip.contains(&key.as_str()) && !key.starts_with('@'))
                .map(|(key, value)| (key.clone(), value.clone()))
                .collect()
        })
        .unwrap_or_default()
}

/// The records of a Salesforce or Dataverse answer: `(id member, members to leave out)` of
/// each row, and `(member, id member, members to leave out)` of its nested account.
pub(super) fn records_of(
    rows: &[Value],
    (id, skip): (&str, &[&str]),
    (company, company_id, company_skip): (&str, &str, &[&str]),
) -> Vec<RemoteRecord> {
    rows.iter()
        .map(|row| RemoteRecord {
            id: row[id].as_str().unwrap_or_default().to_owned(),
            fields: fields_of(row, skip),
            company: row[company][company_id].as_str().map(|account| {
                Box::new(RemoteRecord {
                    id: account.to_owned(),
                    fields: fields_of(&row[company], company_skip),
                    company: None,
                })
            }),
        })
        .filter(|record| !record.id.is_empty())
        .collect()
}

impl Clients {
    /// The JSON answer of an OAuth-authenticated CRM call; on a 401 the cached token is
    /// dropped, so the next pull takes a new one.
    pub(super) async fn answer_with_token(
        &self,
        connector: &Connector,
        response: reqwest::Response,
        crm: &str,
    ) -> Result<Value, Failure> {
        if response.status() == StatusCode::UNAUTHORIZED {
            self.forget_token(connector.id);
            return Err(Failure::transient(format!(
                "{crm} refused the access token (401); a new one is taken on the next pull"
            )));
        }
        check(response).await
    }

    /// Contacts changed since `cursor` (all of them when there is none yet), oldest first; or,
    /// with `settings.pullFrom: "closedWonDeals"`, the contacts of deals (opportunities) won
    /// since then.
    pub(crate) async fn changed_since(
        &self,
        connector: &Connector,
        version: i64,
        credentials: &Value,
        cursor: Option<&str>,
    ) -> Result<PulledPage, Failure> {
        match connector.kind {
            ConnectorKind::HubSpot if won_deals(connector) => {
                self.hubspot_contracts(connector, credentials, cursor).await
            }
            ConnectorKind::Salesforce if won_deals(connector) => {
                self.salesforce_contracts(connector, version, credentials, cursor)
                    .await
            }
            ConnectorKind::Dynamics365 if won_deals(connector) => {
                self.dynamics_contracts(connector, version, credentials, cursor)
                    .await
            }
            ConnectorKind::HubSpot => self.hubspot_changed(connector, credentials, cursor).await,
            ConnectorKind::Salesforce => {
                self.salesforce_changed(connector, version, credentials, cursor)
                    .await
            }
            ConnectorKind::Dynamics365 => {
                self.dynamics_changed(connector, version, credentials, cursor)
                    .await
            }
            ConnectorKind::Webhook => Err(Failure::permanent(
                "a WEBHOOK connector receives; it has nothing to pull from",
            )),
        }
    }

    // -----------------------------------------------------------------------------------
    // HubSpot

    pub(super) async fn hubspot_get(
        &self,
        connector: &Connector,
        credentials: &Value,
        path: &str,
    ) -> Result<Option<Value>, Failure> {
        let url = format!("{}{path}", text(&connector.settings, "baseUrl"));
        let response = self
            .send(self.http.get(&url).bearer_auth(text(credentials, "token")))
            .await?;
        if response.status() == StatusCode::NOT_FOUND {
            return Ok(None);
        }
        check(response).await.map(Some)
    }

    /// The JSON answer of a HubSpot `POST` (a batch read).
    pub(super) async fn hubspot_post(
        &self,
        connector: &Connector,
        credentials: &Value,
        path: &str,
        body: &Value,
    ) -> Result<Value, Failure> {
        let url = format!("{}{path}", text(&connector.settings, "baseUrl"));
        let response = self
            .send(
                self.http
                    .post(&url)
                    .bearer_auth(text(credentials, "token"))
                    .json(body),
            )
            .await?;
        check(response).await
    }

    /// One page of `POST /crm/v3/objects/{object}/search`, oldest change first: objects whose
    /// `stamp` property is at or after the cursor, and matching `filters`.
    pub(super) async fn hubspot_search(
        &self,
        connector: &Connector,
        credentials: &Value,
        (object, stamp_property): (&str, &str),
        mut filters: Vec<Value>,
        mut properties: Vec<String>,
        cursor: Option<&str>,
    ) -> Result<(Vec<Value>, Option<String>, bool), Failure> {
        let since = cursor_time(cursor)
            .map(|t| t.timestamp_millis())
            .unwrap_or(0);
        filters.push(json!({
            "propertyName": stamp_property,
            "operator": "GTE",
            "value": since.to_string(),
        }));
        properties.push(stamp_property.to_owned());
        let body = json!({
            "filterGroups": [{ "filters": filters }],
            "sorts": [{ "propertyName": stamp_property, "direction": "ASCENDING" }],
            "properties": properties,
            "limit": PAGE,
        });
        let path = format!("/crm/v3/objects/{object}/search");
        let answer = self
            .hubspot_post(connector, credentials, &path, &body)
            .await?;
        let results = answer["results"].as_array().cloned().unwrap_or_default();
        let cursor = advance(
            cursor,
            results.iter().map(|r| {
                stamp(&r["properties"][stamp_property]).or_else(|| stamp(&r["updatedAt"]))
            }),
        );
        let more = results.len() == PAGE && answer["paging"]["next"]["after"].is_string();
        Ok((results, cursor, more))
    }

    async fn hubspot_changed(
        &self,
        connector: &Connector,
        credentials: &Value,
        cursor: Option<&str>,
    ) -> Result<PulledPage, Failure> {
        let (results, cursor, more) = self
            .hubspot_search(
                connector,
                credentials,
                ("contacts", "lastmodifieddate"),
                Vec::new(),
                mapped_fields(connector, "identity"),
                cursor,
            )
            .await?;
        let mut records = Vec::with_capacity(results.len());
        for result in results.iter().filter(|r| id_of(&r["id"]).is_some()) {
            records.push(self.hubspot_record(connector, credentials, result).await?);
        }
        Ok(PulledPage {
            records,
            contracts: Vec::new(),
            cursor,
            more,
        })
    }

    /// The `to` objects associated with an object (associations v4): their ids, each with
    /// its first association label (a contact's role on a deal, say) when it has one.
    pub(super) async fn hubspot_associated(
        &self,
        connector: &Connector,
        credentials: &Value,
        (from, id): (&str, &str),
        to: &str,
    ) -> Result<Vec<(String, Option<String>)>, Failure> {
        let associations = self
            .hubspot_get(
                connector,
                credentials,
                &format!("/crm/v4/objects/{from}/{id}/associations/{to}"),
            )
            .await?
            .unwrap_or(Value::Null);
        Ok(associations["results"]
            .as_array()
            .map(|results| {
                results
                    .iter()
                    .filter_map(|r| {
                        let label = r["associationTypes"].as_array().and_then(|types| {
                            types
                                .iter()
                                .find_map(|t| t["label"].as_str().map(str::to_owned))
                        });
                        id_of(&r["toObjectId"]).map(|id| (id, label))
                    })
                    .collect()
            })
            .unwrap_or_default())
    }

    /// A HubSpot contact object as a record, with its first associated company when the
    /// connector pulls organizations.
    async fn hubspot_record(
        &self,
        connector: &Connector,
        credentials: &Value,
        object: &Value,
    ) -> Result<RemoteRecord, Failure> {
        let id = id_of(&object["id"]).unwrap_or_default();
        let mut fields = fields_of(
            &object["properties"],
            &["lastmodifieddate", "hs_object_id", "createdate"],
        );
        fields.retain(|key, _| mapped_fields(connector, "identity").contains(key));
        let company = if pulls_organizations(connector) {
            self.hubspot_company_of(connector, credentials, &id)
                .await?
                .map(Box::new)
        } else {
            None
        };
        Ok(RemoteRecord {
            id,
            fields,
            company,
        })
    }

    async fn hubspot_company_of(
        &self,
        connector: &Connector,
        credentials: &Value,
        contact_id: &str,
    ) -> Result<Option<RemoteRecord>, Failure> {
        let Some(company_id) = self
            .hubspot_associated(connector, credentials, ("contact", contact_id), "company")
            .await?
            .into_iter()
            .map(|(id, _)| id)
            .next()
        else {
            return Ok(None);
        };
        let properties = mapped_fields(connector, "organization").join(",");
        let Some(company) = self
            .hubspot_get(
                connector,
                credentials,
                &format!("/crm/v3/objects/companies/{company_id}?properties={properties}"),
            )
            .await?
        else {
            return Ok(None);
        };
        Ok(Some(RemoteRecord {
            id: company_id,
            fields: fields_of(
                &company["properties"],
                &["hs_lastmodifieddate", "hs_object_id", "createdate"],
            ),
            company: None,
        }))
    }

    /// One HubSpot contact by id; `None` when HubSpot no longer has it.
    pub(crate) async fn hubspot_contact(
        &self,
        connector: &Connector,
        credentials: &Value,
        id: &str,
    ) -> Result<Option<RemoteRecord>, Failure> {
        let properties = mapped_fields(connector, "identity").join(",");
        let Some(object) = self
            .hubspot_get(
                connector,
                credentials,
                &format!("/crm/v3/objects/contacts/{id}?properties={properties}"),
            )
            .await?
        else {
            return Ok(None);
        };
        self.hubspot_record(connector, credentials, &object)
            .await
            .map(Some)
    }

    // -----------------------------------------------------------------------------------
    // Salesforce

    /// The rows a SOQL query answers (one page).
    pub(super) async fn salesforce_query(
        &self,
        connector: &Connector,
        version: i64,
        credentials: &Value,
        soql: String,
    ) -> Result<Vec<Value>, Failure> {
        let settings = &connector.settings;
        let (token, instance) = self
            .token(
                connector.id,
                version,
                ConnectorKind::Salesforce,
                settings,
                credentials,
            )
            .await?;
        let url = format!(
            "{instance}/services/data/{}/query",
            text(settings, "apiVersion")
        );
        let response = self
            .send(
                self.http
                    .get(&url)
                    .bearer_auth(&token)
                    .query(&[("q", soql)]),
            )
            .await?;
        let answer = self
            .answer_with_token(connector, response, "Salesforce")
            .await?;
        Ok(answer["records"].as_array().cloned().unwrap_or_default())
    }

    async fn salesforce_changed(
        &self,
        connector: &Connector,
        version: i64,
        credentials: &Value,
        cursor: Option<&str>,
    ) -> Result<PulledPage, Failure> {
        let mut select = vec!["SystemModstamp".to_owned()];
        select.extend(salesforce_contact_columns(connector));
        let soql = format!(
            "SELECT {} FROM Contact{} ORDER BY SystemModstamp ASC LIMIT {PAGE}",
            select.join(","),
            soql_since("SystemModstamp", cursor, Vec::new())
        );
        let rows = self
            .salesforce_query(connector, version, credentials, soql)
            .await?;
        Ok(PulledPage {
            cursor: advance(cursor, rows.iter().map(|r| stamp(&r["SystemModstamp"]))),
            more: rows.len() == PAGE,
            records: salesforce_contacts(&rows),
            contracts: Vec::new(),
        })
    }

    // -----------------------------------------------------------------------------------
    // Dataverse

    /// One page of an entity set: `(rows, whether more follow)`.
    pub(super) async fn dynamics_get(
        &self,
        connector: &Connector,
        version: i64,
        credentials: &Value,
        set: &str,
        query: &[(String, String)],
    ) -> Result<(Vec<Value>, bool), Failure> {
        let settings = &connector.settings;
        let (token, _) = self
            .token(
                connector.id,
                version,
                ConnectorKind::Dynamics365,
                settings,
                credentials,
            )
            .await?;
        let url = format!("{}/{set}", text(settings, "baseUrl"));
        let response = self
            .send(
                odata(self.http.get(&url), &token)
                    .header("prefer", format!("odata.maxpagesize={PAGE}"))
                    .query(query),
            )
            .await?;
        let answer = self
            .answer_with_token(connector, response, "Dataverse")
            .await?;
        let rows = answer["value"].as_array().cloned().unwrap_or_default();
        Ok((rows, answer["@odata.nextLink"].is_string()))
    }

    async fn dynamics_changed(
        &self,
        connector: &Connector,
        version: i64,
        credentials: &Value,
        cursor: Option<&str>,
    ) -> Result<PulledPage, Failure> {
        let (contact_select, account_expand) = dynamics_contact_query(connector);
        let mut query = vec![("$select".to_owned(), contact_select.join(","))];
        if let Some(expand) = account_expand {
            query.push(("$expand".to_owned(), expand));
        }
        query.extend(odata_since(cursor, Vec::new()));
        let (rows, more) = self
            .dynamics_get(connector, version, credentials, "contacts", &query)
            .await?;
        Ok(PulledPage {
            cursor: advance(cursor, rows.iter().map(|r| stamp(&r["modifiedon"]))),
            more,
            records: dynamics_contacts(&rows),
            contracts: Vec::new(),
        })
    }
}

/// The columns of a Salesforce contact a pull reads: its id, the mapped fields and, when the
/// connector pulls organizations, its account's (`Account.…`).
pub(super) fn salesforce_contact_columns(connector: &Connector) -> Vec<String> {
    let mut fields = columns(&["Id"], mapped_fields(connector, "identity"));
    if pulls_organizations(connector) {
        fields.push("Account.Id".to_owned());
        fields.extend(
            mapped_fields(connector, "organization")
                .into_iter()
                .filter(|f| f != "Id")
                .map(|f| format!("Account.{f}")),
        );
    }
    fields
}

/// Salesforce contact rows as records, with their accounts.
pub(super) fn salesforce_contacts(rows: &[Value]) -> Vec<RemoteRecord> {
    records_of(
        rows,
        ("Id", &["attributes", "Id", "SystemModstamp", "Account"]),
        ("Account", "Id", &["attributes", "Id"]),
    )
}

/// ` WHERE …` with `conditions` and, after a cursor, `<stamp> >= <cursor>` (SOQL datetime
/// literals take no quotes; whole seconds, so `>=` re-reads the last second: applying a record
/// twice changes nothing). Empty without conditions.
pub(super) fn soql_since(stamp: &str, cursor: Option<&str>, mut conditions: Vec<String>) -> String {
    if let Some(since) = cursor_time(cursor) {
        conditions.push(format!(
            "{stamp} >= {}",
            since.to_rfc3339_opts(SecondsFormat::Secs, true)
        ));
    }
    if conditions.is_empty() {
        String::new()
    } else {
        format!(" WHERE {}", conditions.join(" AND "))
    }
}

/// A Dataverse contact's `$select` columns, and the `$expand` of its account when the
/// connector pulls organizations.
pub(super) fn dynamics_contact_query(connector: &Connector) -> (Vec<String>, Option<String>) {
    let select = columns(
        &["contactid", "modifiedon"],
        mapped_fields(connector, "identity"),
    );
    let account_expand = pulls_organizations(connector).then(|| {
        let account = columns(&["accountid"], mapped_fields(connector, "organization"));
        format!("parentcustomerid_account($select={})", account.join(","))
    });
    (select, account_expand)
}

/// Dataverse contact rows as records, with their accounts.
pub(super) fn dynamics_contacts(rows: &[Value]) -> Vec<RemoteRecord> {
    records_of(
        rows,
        (
            "contactid",
            &["contactid", "modifiedon", "parentcustomerid_account"],
        ),
        ("parentcustomerid_account", "accountid", &["accountid"]),
    )
}

/// `$orderby` on `modifiedon` and the `$filter` of `filters` with, after a cursor,
/// `modifiedon ge <cursor>`.
pub(super) fn odata_since(cursor: Option<&str>, mut filters: Vec<String>) -> Vec<(String, String)> {
    if let Some(since) = cursor_time(cursor) {
        filters.push(format!(
            "modifiedon ge {}",
            since.to_rfc3339_opts(SecondsFormat::Secs, true)
        ));
    }
    let mut query = vec![("$orderby".to_owned(), "modifiedon asc".to_owned())];
    if !filters.is_empty() {
        query.push(("$filter".to_owned(), filters.join(" and ")));
    }
    query
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamps_of_each_crm_parse() {
        let expected = Utc.with_ymd_and_hms(2024, 5, 1, 10, 0, 0).unwrap();
        assert_eq!(stamp(&json!("2024-05-01T10:00:00.000Z")), Some(expected));
        assert_eq!(
            stamp(&json!("2024-05-01T10:00:00.000+0000")),
            Some(expected)
        );
        assert_eq!(stamp(&json!("2024-05-01T10:00:00Z")), Some(expected));
        assert_eq!(stamp(&json!("1714557600000")), Some(expected));
        assert_eq!(stamp(&json!(1714557600000i64)), Some(expected));
        assert_eq!(stamp(&json!("yesterday")), None);
    }

    #[test]
    fn the_cursor_only_moves_forward() {
        let later = Utc.with_ymd_and_hms(2024, 5, 2, 0, 0, 0).unwrap();
        let earlier = Utc.with_ymd_and_hms(2024, 5, 1, 0, 0, 0).unwrap();
        let cursor = later.to_rfc3339_opts(SecondsFormat::Millis, true);
        assert_eq!(
            advance(Some(&cursor), [Some(earlier)].into_iter()),
            Some(cursor.clone())
        );
        assert_eq!(
            advance(None, [Some(earlier), None].into_iter()),
            Some(earlier.to_rfc3339_opts(SecondsFormat::Millis, true))
        );
        assert_eq!(advance(None, std::iter::empty()), None);
    }
}
