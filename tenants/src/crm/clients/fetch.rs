//! Reading from the CRMs for pulls: contacts changed since a cursor (HubSpot CRM search on
//! `lastmodifieddate`, a Salesforce SOQL query on `SystemModstamp`, a Dataverse query on
//! `modifiedon`), each with its company or account when the connector pulls organizations,
//! and one HubSpot contact by id (HubSpot's webhooks carry ids only).

use super::http::check;
use super::{Clients, Failure, odata, text};
use crate::crm::connector::{Connector, ConnectorKind};
use crate::crm::records::RemoteRecord;
use chrono::{DateTime, SecondsFormat, TimeZone, Utc};
use reqwest::StatusCode;
use serde_json::{Map, Value, json};

/// Records read per request.
const PAGE: usize = 100;

/// One page of changed records, the cursor after it, and whether more may follow.
pub(crate) struct PulledPage {
    pub records: Vec<RemoteRecord>,
    pub cursor: Option<String>,
    pub more: bool,
}

/// The CRM fields a subject's mapping reads.
fn mapped_fields(connector: &Connector, subject: &str) -> Vec<String> {
    connector.field_mapping[subject]
        .as_object()
        .map(|map| map.keys().cloned().collect())
        .unwrap_or_default()
}

/// `first` followed by those of `more` not in it already.
fn columns(first: &[&str], more: Vec<String>) -> Vec<String> {
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
fn won_deals(connector: &Connector) -> bool {
    connector.settings["pullFrom"].as_str() == Some("closedWonDeals")
}

/// HubSpot record ids are numbers; anything else is refused, so that no answer can put
/// another path into the next request's URL.
fn id_of(value: &Value) -> Option<String> {
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

fn pulls_organizations(connector: &Connector) -> bool {
    connector.settings["pullOrganizations"].as_bool() == Some(true)
}

/// A CRM's modified stamp: RFC 3339, Salesforce's `+0000` form, or epoch milliseconds.
fn stamp(value: &Value) -> Option<DateTime<Utc>> {
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

fn cursor_time(cursor: Option<&str>) -> Option<DateTime<Utc>> {
    cursor
        .and_then(|c| DateTime::parse_from_rfc3339(c).ok())
        .map(|t| t.with_timezone(&Utc))
}

/// The latest of the cursor and the records' stamps, as the new cursor.
fn advance(
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
fn fields_of(object: &Value, skip: &[&str]) -> Map<String, Value> {
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
fn records_of(
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
    async fn answer_with_token(
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
                self.hubspot_won_deals(connector, credentials, cursor).await
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

    async fn hubspot_get(
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

    /// One page of `POST /crm/v3/objects/{object}/search`, oldest change first: objects whose
    /// `stamp` property is at or after the cursor, and matching `filters`.
    async fn hubspot_search(
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
        let url = format!(
            "{}/crm/v3/objects/{object}/search",
            text(&connector.settings, "baseUrl")
        );
        let body = json!({
            "filterGroups": [{ "filters": filters }],
            "sorts": [{ "propertyName": stamp_property, "direction": "ASCENDING" }],
            "properties": properties,
            "limit": PAGE,
        });
        let response = self
            .send(
                self.http
                    .post(&url)
                    .bearer_auth(text(credentials, "token"))
                    .json(&body),
            )
            .await?;
        let answer = check(response).await?;
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
            cursor,
            more,
        })
    }

    /// The contacts of deals that reached the closed-won stage (`settings.closedWonStage`,
    /// HubSpot's default pipeline calls it `closedwon`) since the cursor.
    async fn hubspot_won_deals(
        &self,
        connector: &Connector,
        credentials: &Value,
        cursor: Option<&str>,
    ) -> Result<PulledPage, Failure> {
        let stage = connector.settings["closedWonStage"]
            .as_str()
            .unwrap_or("closedwon");
        let (deals, cursor, more) = self
            .hubspot_search(
                connector,
                credentials,
                ("deals", "hs_lastmodifieddate"),
                vec![json!({ "propertyName": "dealstage", "operator": "EQ", "value": stage })],
                vec!["dealstage".to_owned()],
                cursor,
            )
            .await?;
        let mut records = Vec::new();
        for deal in &deals {
            let Some(deal_id) = id_of(&deal["id"]) else {
                continue;
            };
            for contact in self
                .hubspot_associated(connector, credentials, ("deal", &deal_id), "contact")
                .await?
            {
                if let Some(record) = self
                    .hubspot_contact(connector, credentials, &contact)
                    .await?
                {
                    records.push(record);
                }
            }
        }
        Ok(PulledPage {
            records,
            cursor,
            more,
        })
    }

    /// The ids of the `to` objects associated with an object (associations v4).
    async fn hubspot_associated(
        &self,
        connector: &Connector,
        credentials: &Value,
        (from, id): (&str, &str),
        to: &str,
    ) -> Result<Vec<String>, Failure> {
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
                    .filter_map(|r| id_of(&r["toObjectId"]))
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

    async fn salesforce_changed(
        &self,
        connector: &Connector,
        version: i64,
        credentials: &Value,
        cursor: Option<&str>,
    ) -> Result<PulledPage, Failure> {
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
        // Contacts themselves, or the contacts of won opportunities (through their contact
        // roles), with the fields read through `Contact.` there.
        let (object, contact, stamp_field, condition) = if won_deals(connector) {
            (
                "OpportunityContactRole",
                "Contact.",
                "Opportunity.SystemModstamp",
                vec!["Opportunity.IsWon = true".to_owned()],
            )
        } else {
            ("Contact", "", "SystemModstamp", Vec::new())
        };
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
        let mut select = vec![stamp_field.to_owned()];
        select.extend(fields.iter().map(|f| format!("{contact}{f}")));
        // SOQL datetime literals take no quotes; whole seconds, so `>=` re-reads the last
        // second (applying a record twice changes nothing).
        let mut conditions = condition;
        if let Some(since) = cursor_time(cursor) {
            conditions.push(format!(
                "{stamp_field} >= {}",
                since.to_rfc3339_opts(SecondsFormat::Secs, true)
            ));
        }
        let filter = if conditions.is_empty() {
            String::new()
        } else {
            format!(" WHERE {}", conditions.join(" AND "))
        };
        let soql = format!(
            "SELECT {} FROM {object}{filter} ORDER BY {stamp_field} ASC LIMIT {PAGE}",
            select.join(",")
        );
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
        let rows = answer["records"].as_array().cloned().unwrap_or_default();
        let stamps = rows.iter().map(|r| {
            stamp(&r["SystemModstamp"]).or_else(|| stamp(&r["Opportunity"]["SystemModstamp"]))
        });
        let cursor = advance(cursor, stamps);
        let contacts: Vec<Value> = if won_deals(connector) {
            rows.iter().map(|r| r["Contact"].clone()).collect()
        } else {
            rows.clone()
        };
        let records = records_of(
            &contacts,
            ("Id", &["attributes", "Id", "SystemModstamp", "Account"]),
            ("Account", "Id", &["attributes", "Id"]),
        );
        Ok(PulledPage {
            cursor,
            more: rows.len() == PAGE,
            records,
        })
    }

    // -----------------------------------------------------------------------------------
    // Dataverse

    async fn dynamics_changed(
        &self,
        connector: &Connector,
        version: i64,
        credentials: &Value,
        cursor: Option<&str>,
    ) -> Result<PulledPage, Failure> {
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
        let contact_select = columns(
            &["contactid", "modifiedon"],
            mapped_fields(connector, "identity"),
        );
        let account_expand = pulls_organizations(connector).then(|| {
            let account = columns(&["accountid"], mapped_fields(connector, "organization"));
            format!("parentcustomerid_account($select={})", account.join(","))
        });
        let mut filters = Vec::new();
        if let Some(since) = cursor_time(cursor) {
            filters.push(format!(
                "modifiedon ge {}",
                since.to_rfc3339_opts(SecondsFormat::Secs, true)
            ));
        }
        // Contacts themselves, or the contacts of won opportunities (`statecode` 1) through
        // the opportunity's `parentcontactid`.
        let (set, query) = if won_deals(connector) {
            filters.insert(0, "statecode eq 1".to_owned());
            let contact = match &account_expand {
                Some(expand) => format!(
                    "parentcontactid($select={};$expand={expand})",
                    contact_select.join(",")
                ),
                None => format!("parentcontactid($select={})", contact_select.join(",")),
            };
            (
                "opportunities",
                vec![
                    ("$select".to_owned(), "opportunityid,modifiedon".to_owned()),
                    ("$expand".to_owned(), contact),
                ],
            )
        } else {
            let mut query = vec![("$select".to_owned(), contact_select.join(","))];
            if let Some(expand) = account_expand {
                query.push(("$expand".to_owned(), expand));
            }
            ("contacts", query)
        };
        let mut query = query;
        query.push(("$orderby".to_owned(), "modifiedon asc".to_owned()));
        if !filters.is_empty() {
            query.push(("$filter".to_owned(), filters.join(" and ")));
        }
        let url = format!("{}/{set}", text(settings, "baseUrl"));
        let response = self
            .send(
                odata(self.http.get(&url), &token)
                    .header("prefer", format!("odata.maxpagesize={PAGE}"))
                    .query(&query),
            )
            .await?;
        let answer = self
            .answer_with_token(connector, response, "Dataverse")
            .await?;
        let rows = answer["value"].as_array().cloned().unwrap_or_default();
        let contacts: Vec<Value> = if won_deals(connector) {
            rows.iter().map(|r| r["parentcontactid"].clone()).collect()
        } else {
            rows.clone()
        };
        let records = records_of(
            &contacts,
            (
                "contactid",
                &["contactid", "modifiedon", "parentcustomerid_account"],
            ),
            ("parentcustomerid_account", "accountid", &["accountid"]),
        );
        Ok(PulledPage {
            cursor: advance(cursor, rows.iter().map(|r| stamp(&r["modifiedon"]))),
            more: answer["@odata.nextLink"].is_string(),
            records,
        })
    }
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
