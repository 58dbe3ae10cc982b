use mongodb::{
    IndexModel,
    bson::{Document, doc},
    options::IndexOptions,
};
use tripnest_e2e::{Stack, unique};

#[tokio::test]
async fn mongodb_inserts_finds_sorted_and_enforces_a_unique_index() {
    let client = mongodb::Client::with_uri_str(Stack::load().get("MONGODB_URI")).await.expect("mongodb uri");
    let db = client.database(&unique("e2e").replace('-', "_"));
    let hotels = db.collection::<Document>("hotels");

    hotels
        .insert_many([
            doc! { "hotelId": "h1", "city": "Lisbon", "rating": 4.2 },
            doc! { "hotelId": "h2", "city": "Porto", "rating": 4.8 },
            doc! { "hotelId": "h3", "city": "Lisbon", "rating": 4.7 },
        ])
        .await
        .expect("insert");

    let mut cursor = hotels.find(doc! { "city": "Lisbon" }).sort(doc! { "rating": -1 }).await.expect("find");
    let mut ids = Vec::new();
    while cursor.advance().await.expect("cursor") {
        ids.push(cursor.deserialize_current().expect("doc").get_str("hotelId").expect("hotelId").to_owned());
    }
    assert_eq!(ids, ["h3", "h1"], "filtered to Lisbon, best rated first");

    let unique_id = IndexModel::builder().keys(doc! { "hotelId": 1 }).options(IndexOptions::builder().unique(true).build()).build();
    hotels.create_index(unique_id).await.expect("create unique index");
    let err = hotels.insert_one(doc! { "hotelId": "h1", "city": "Faro" }).await.expect_err("duplicate key must be refused");
    assert!(err.to_string().contains("E11000") || err.to_string().contains("duplicate"), "{err}");

    db.drop().await.expect("drop test database");
}
