//! Reading contracts for pulls (`settings.pullFrom: "closedWonDeals"`): the deals or
//! opportunities closed since the cursor, won or lost, each as a [`RemoteContract`] (its
//! dates, the products or line items bought, its contacts with their roles, its company), and
//! the contacts of the won ones as records, so that they become identities first.
//!
//! * HubSpot: a CRM search of deals in the won or lost stage (`dealstage`, the default
//!   pipeline's `closedwon` / `closedlost` unless `settings.closedWonStage` /
//!   `closedLostStage` say otherwise) on `hs_lastmodifieddate`; per deal its associated
//!   contacts (their association labels are their roles), company and line items (read in one
//!   batch: `hs_sku`, `hs_product_id`, `name`, `hs_recurring_billing_start_date`,
//!   `hs_recurring_billing_end_date`).
//! * Salesforce: one SOQL query of closed opportunities (`IsClosed = true`) on
//!   `SystemModstamp`, with `IsWon`, `CloseDate`, the contract (`Contract.StartDate`,
//!   `Contract.EndDate`, `Contract.StatusCode`), the account, and the subqueries
//!   `OpportunityLineItems` (`ProductCode`, `Product2.ProductCode`, `Product2.Name`) and
//!   `OpportunityContactRoles` (`Role`, `Contact.…`).
//! * Dataverse: closed opportunities (`statecode ne 0`: 1 won, 2 lost; `statuscode` 4 is
//!   cancelled) on `modifiedon`, with `actualclosedate` and the parent contact (and account);
//!   per opportunity its lines (`opportunityproducts` of `_opportunityid_value`) with each
//!   line's `productid` (`productnumber`, `name`) or `productdescription`. The lines are a
//!   request of their own: Dataverse does not take `$orderby` with a nested `$expand` of a
//!   collection.
//!
//! `settings.contractStartField` / `contractEndField` name date fields of the deal or
//! opportunity that override where the start and end come from. A date without a time is a
//! whole day: access starts at its beginning and, for an end date, lasts through it.

use super::fetch::*;
use super::{Clients, Failure, text};
use crate::crm::connector::Connector;
use crate::crm::records::{ContractState, RemoteContract};
use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use serde_json::{Value, json};

/// A start date: a date is its first moment (UTC); times and epoch milliseconds as given.
fn start_date(value: &Value) -> Option<DateTime<Utc>> {
    match date_only(value) {
        Some(day) => Some(day),
        None => stamp(value),
    }
}

/// An end date, exclusive: a date (or HubSpot's midnight milliseconds of one) lasts through
/// its day; a time is the end itself.
fn end_date(value: &Value) -> Option<DateTime<Utc>> {
    match date_only(value) {
        Some(day) => Some(day + Duration::days(1)),
        None => stamp(value),
    }
}

/// The first moment of a value that is a date without a time: `2027-06-30`, or epoch
/// milliseconds at midnight UTC (how HubSpot gives date properties).
fn date_only(value: &Value) -> Option<DateTime<Utc>> {
    if let Some(text) = value.as_str()
        && let Ok(day) = NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d")
    {
        return Some(Utc.from_utc_datetime(&day.and_hms_opt(0, 0, 0)?));
    }
    let moment = stamp(value)?;
    let midnight = moment.timestamp_millis() % 86_400_000 == 0;
    (midnight && !value.as_str().is_some_and(|t| t.contains('T'))).then_some(moment)
}

/// The configured field (`settings.<setting>`) of a deal, else `fallback`.
fn configured<'a>(connector: &Connector, setting: &str, deal: &'a Value) -> Option<&'a Value> {
    connector.settings[setting]
        .as_str()
        .map(|field| &deal[field])
        .filter(|value| !value.is_null())
}

/// A contract's window from its dates: an ended one ends when it was lost or cancelled, if
/// that is before its end.
fn ending(
    state: ContractState,
    ends: Option<DateTime<Utc>>,
    closed: Option<DateTime<Utc>>,
) -> Option<DateTime<Utc>> {
    match (state, ends, closed) {
        (ContractState::Ended, Some(end), Some(closed)) => Some(end.min(closed)),
        (ContractState::Ended, None, closed) => closed,
        (_, ends, _) => ends,
    }
}

/// The non-empty texts among `values`: a product's identifiers.
fn identifiers<'a>(values: impl IntoIterator<Item = &'a Value>) -> Vec<String> {
    values
        .into_iter()
        .filter_map(|value| match value {
            Value::String(text) if !text.trim().is_empty() => Some(text.trim().to_owned()),
            Value::Number(number) => Some(number.to_string()),
            _ => None,
        })
        .collect()
}

/// The extra columns `contractStartField` / `contractEndField` name.
fn date_fields(connector: &Connector) -> Vec<String> {
    ["contractStartField", "contractEndField"]
        .iter()
        .filter_map(|setting| connector.settings[*setting].as_str().map(str::to_owned))
        .collect()
}

impl Clients {
    // -----------------------------------------------------------------------------------
    // HubSpot

    pub(super) async fn hubspot_contracts(
        &self,
        connector: &Connector,
        credentials: &Value,
        cursor: Option<&str>,
    ) -> Result<PulledPage, Failure> {
        let won = text(&connector.settings, "closedWonStage");
        let won = if won.is_empty() { "closedwon" } else { won };
        let lost = text(&connector.settings, "closedLostStage");
        let lost = if lost.is_empty() { "closedlost" } else { lost };
        let mut properties = vec!["dealstage".to_owned(), "closedate".to_owned()];
        properties.extend(date_fields(connector));
        let (deals, cursor, more) = self
            .hubspot_search(
                connector,
                credentials,
                ("deals", "hs_lastmodifieddate"),
                vec![
                    json!({ "propertyName": "dealstage", "operator": "IN", "values": [won, lost] }),
                ],
                properties,
                cursor,
            )
            .await?;
        let mut records = Vec::new();
        let mut contracts = Vec::new();
        for deal in &deals {
            let Some(deal_id) = id_of(&deal["id"]) else {
                continue;
            };
            let state = if deal["properties"]["dealstage"].as_str() == Some(won) {
                ContractState::Won
            } else {
                ContractState::Ended
            };
            let contacts = self
                .hubspot_associated(connector, credentials, ("deal", &deal_id), "contact")
                .await?;
            if state == ContractState::Won {
                for (contact, _) in &contacts {
                    if let Some(record) = self
                        .hubspot_contact(connector, credentials, contact)
                        .await?
                    {
                        records.push(record);
                    }
                }
            }
            let company = self
                .hubspot_associated(connector, credentials, ("deal", &deal_id), "company")
                .await?
                .into_iter()
                .map(|(id, _)| id)
                .next();
            let lines = self
                .hubspot_line_items(connector, credentials, &deal_id)
                .await?;
            let properties = &deal["properties"];
            let starts = configured(connector, "contractStartField", properties)
                .and_then(start_date)
                .or_else(|| {
                    lines
                        .iter()
                        .filter_map(|l| start_date(&l["hs_recurring_billing_start_date"]))
                        .min()
                })
                .or_else(|| {
                    start_date(&properties["closedate"]).filter(|_| state == ContractState::Won)
                });
            let ends = configured(connector, "contractEndField", properties)
                .and_then(end_date)
                .or_else(|| {
                    lines
                        .iter()
                        .filter_map(|l| end_date(&l["hs_recurring_billing_end_date"]))
                        .max()
                });
            contracts.push(RemoteContract {
                id: deal_id,
                state,
                starts,
                ends: ending(state, ends, start_date(&properties["closedate"])),
                products: lines
                    .iter()
                    .map(|l| identifiers([&l["hs_sku"], &l["hs_product_id"], &l["name"]]))
                    .collect(),
                contacts,
                company,
            });
        }
        Ok(PulledPage {
            records,
            contracts,
            cursor,
            more,
        })
    }

    /// The properties of a deal's line items, read in one batch.
    async fn hubspot_line_items(
        &self,
        connector: &Connector,
        credentials: &Value,
        deal_id: &str,
    ) -> Result<Vec<Value>, Failure> {
        let ids: Vec<Value> = self
            .hubspot_associated(connector, credentials, ("deal", deal_id), "line_items")
            .await?
            .into_iter()
            .take(100)
            .map(|(id, _)| json!({ "id": id }))
            .collect();
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let body = json!({
            "inputs": ids,
            "properties": [
                "hs_sku", "hs_product_id", "name",
                "hs_recurring_billing_start_date", "hs_recurring_billing_end_date",
            ],
        });
        let answer = self
            .hubspot_post(
                connector,
                credentials,
                "/crm/v3/objects/line_items/batch/read",
                &body,
            )
            .await?;
        Ok(answer["results"]
            .as_array()
            .map(|results| results.iter().map(|r| r["properties"].clone()).collect())
            .unwrap_or_default())
    }

    // -----------------------------------------------------------------------------------
    // Salesforce

    pub(super) async fn salesforce_contracts(
        &self,
        connector: &Connector,
        version: i64,
        credentials: &Value,
        cursor: Option<&str>,
    ) -> Result<PulledPage, Failure> {
        let mut select: Vec<String> = [
            "Id",
            "SystemModstamp",
            "IsWon",
            "CloseDate",
            "AccountId",
            "Contract.StartDate",
            "Contract.EndDate",
            "Contract.StatusCode",
        ]
        .iter()
        .map(|c| (*c).to_owned())
        .collect();
        select.extend(date_fields(connector));
        let contact: Vec<String> = salesforce_contact_columns(connector)
            .iter()
            .map(|c| format!("Contact.{c}"))
            .collect();
        select.push(
            "(SELECT ProductCode,Product2Id,Product2.ProductCode,Product2.Name FROM OpportunityLineItems)"
                .to_owned(),
        );
        select.push(format!(
            "(SELECT Role,{} FROM OpportunityContactRoles)",
            contact.join(",")
        ));
        let soql = format!(
            "SELECT {} FROM Opportunity{} ORDER BY SystemModstamp ASC LIMIT {PAGE}",
            select.join(","),
            soql_since("SystemModstamp", cursor, vec!["IsClosed = true".to_owned()])
        );
        let rows = self
            .salesforce_query(connector, version, credentials, soql)
            .await?;
        let mut records = Vec::new();
        let mut contracts = Vec::new();
        for row in &rows {
            let Some(id) = row["Id"].as_str().filter(|id| !id.is_empty()) else {
                continue;
            };
            let terminated = row["Contract"]["StatusCode"].as_str() == Some("Terminated");
            let state = if row["IsWon"].as_bool() == Some(true) && !terminated {
                ContractState::Won
            } else {
                ContractState::Ended
            };
            let roles = related(&row["OpportunityContactRoles"]);
            let people: Vec<Value> = roles.iter().map(|r| r["Contact"].clone()).collect();
            if state == ContractState::Won {
                records.extend(salesforce_contacts(&people));
            }
            let starts = configured(connector, "contractStartField", row)
                .and_then(start_date)
                .or_else(|| start_date(&row["Contract"]["StartDate"]))
                .or_else(|| start_date(&row["CloseDate"]).filter(|_| state == ContractState::Won));
            let ends = configured(connector, "contractEndField", row)
                .and_then(end_date)
                .or_else(|| end_date(&row["Contract"]["EndDate"]));
            let closed = if terminated {
                None
            } else {
                start_date(&row["CloseDate"])
            };
            contracts.push(RemoteContract {
                id: id.to_owned(),
                state,
                starts,
                ends: ending(state, ends, closed),
                products: related(&row["OpportunityLineItems"])
                    .iter()
                    .map(|line| {
                        identifiers([
                            &line["Product2"]["ProductCode"],
                            &line["ProductCode"],
                            &line["Product2Id"],
                            &line["Product2"]["Name"],
                        ])
                    })
                    .collect(),
                contacts: roles
                    .iter()
                    .filter_map(|r| {
                        let contact = r["Contact"]["Id"].as_str()?;
                        Some((contact.to_owned(), r["Role"].as_str().map(str::to_owned)))
                    })
                    .collect(),
                company: row["AccountId"]
                    .as_str()
                    .or_else(|| row["Account"]["Id"].as_str())
                    .map(str::to_owned),
            });
        }
        Ok(PulledPage {
            cursor: advance(cursor, rows.iter().map(|r| stamp(&r["SystemModstamp"]))),
            more: rows.len() == PAGE,
            records,
            contracts,
        })
    }

    // -----------------------------------------------------------------------------------
    // Dataverse

    pub(super) async fn dynamics_contracts(
        &self,
        connector: &Connector,
        version: i64,
        credentials: &Value,
        cursor: Option<&str>,
    ) -> Result<PulledPage, Failure> {
        let (contact_select, account_expand) = dynamics_contact_query(connector);
        let contact = match &account_expand {
            Some(expand) => format!(
                "parentcontactid($select={};$expand={expand})",
                contact_select.join(",")
            ),
            None => format!("parentcontactid($select={})", contact_select.join(",")),
        };
        let mut select = vec![
            "opportunityid".to_owned(),
            "modifiedon".to_owned(),
            "statecode".to_owned(),
            "statuscode".to_owned(),
            "actualclosedate".to_owned(),
        ];
        select.extend(date_fields(connector));
        let mut query = vec![
            ("$select".to_owned(), select.join(",")),
            ("$expand".to_owned(), contact),
        ];
        query.extend(odata_since(cursor, vec!["statecode ne 0".to_owned()]));
        let (rows, more) = self
            .dynamics_get(connector, version, credentials, "opportunities", &query)
            .await?;
        let mut records = Vec::new();
        let mut contracts = Vec::new();
        for row in &rows {
            let Some(id) = row["opportunityid"].as_str().filter(|id| !id.is_empty()) else {
                continue;
            };
            let state = if row["statecode"].as_i64() == Some(1) {
                ContractState::Won
            } else {
                ContractState::Ended
            };
            let person = &row["parentcontactid"];
            if state == ContractState::Won {
                records.extend(dynamics_contacts(std::slice::from_ref(person)));
            }
            let closed = start_date(&row["actualclosedate"]);
            let starts = configured(connector, "contractStartField", row)
                .and_then(start_date)
                .or_else(|| closed.filter(|_| state == ContractState::Won));
            let ends = configured(connector, "contractEndField", row).and_then(end_date);
            contracts.push(RemoteContract {
                id: id.to_owned(),
                state,
                starts,
                ends: ending(state, ends, closed),
                products: self
                    .dynamics_lines(connector, version, credentials, id)
                    .await?
                    .iter()
                    .map(|line| {
                        identifiers([
                            &line["productid"]["productnumber"],
                            &line["productid"]["name"],
                            &line["productdescription"],
                        ])
                    })
                    .collect(),
                contacts: person["contactid"]
                    .as_str()
                    .map(|contact| vec![(contact.to_owned(), None)])
                    .unwrap_or_default(),
                company: person["parentcustomerid_account"]["accountid"]
                    .as_str()
                    .map(str::to_owned),
            });
        }
        Ok(PulledPage {
            cursor: advance(cursor, rows.iter().map(|r| stamp(&r["modifiedon"]))),
            more,
            records,
            contracts,
        })
    }
}

impl Clients {
    /// The lines (`opportunityproduct`) of a Dataverse opportunity, each with its product.
    async fn dynamics_lines(
        &self,
        connector: &Connector,
        version: i64,
        credentials: &Value,
        opportunity: &str,
    ) -> Result<Vec<Value>, Failure> {
        // A GUID, so that no answer can put another filter into the request.
        let Ok(opportunity) = uuid::Uuid::parse_str(opportunity) else {
            return Ok(Vec::new());
        };
        let query = [
            ("$select".to_owned(), "productdescription".to_owned()),
            (
                "$expand".to_owned(),
                "productid($select=productnumber,name)".to_owned(),
            ),
            (
                "$filter".to_owned(),
                format!("_opportunityid_value eq {opportunity}"),
            ),
        ];
        let (lines, _) = self
            .dynamics_get(
                connector,
                version,
                credentials,
                "opportunityproducts",
                &query,
            )
            .await?;
        Ok(lines)
    }
}

/// The rows of a Salesforce subquery (`{ records: [...] }`, or null when it has none).
fn related(value: &Value) -> Vec<Value> {
    value["records"].as_array().cloned().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_last_through_their_day_and_times_are_exact() {
        let day = Utc.with_ymd_and_hms(2027, 6, 30, 0, 0, 0).unwrap();
        assert_eq!(start_date(&json!("2027-06-30")), Some(day));
        assert_eq!(
            end_date(&json!("2027-06-30")),
            Some(day + Duration::days(1))
        );
        // HubSpot date properties: midnight UTC in epoch milliseconds.
        let millis = day.timestamp_millis().to_string();
        assert_eq!(end_date(&json!(millis)), Some(day + Duration::days(1)));
        let moment = Utc.with_ymd_and_hms(2027, 6, 30, 15, 30, 0).unwrap();
        assert_eq!(end_date(&json!("2027-06-30T15:30:00Z")), Some(moment));
        assert_eq!(end_date(&json!("2027-06-30T00:00:00Z")), Some(day));
        assert_eq!(start_date(&json!("soon")), None);
    }

    #[test]
    fn an_ended_contract_ends_when_it_was_lost_if_that_is_earlier() {
        let t = Utc::now();
        let later = t + Duration::days(30);
        assert_eq!(ending(ContractState::Ended, Some(later), Some(t)), Some(t));
        assert_eq!(ending(ContractState::Ended, None, Some(t)), Some(t));
        assert_eq!(
            ending(ContractState::Won, Some(later), Some(t)),
            Some(later)
        );
        assert_eq!(ending(ContractState::Ended, None, None), None);
    }
}
