use mongodb::{
    IndexModel,
    bson::{Document, doc},
    options::IndexOptions,
};
use tripnest_e2e::{Stack, TestMongo};

#[tokio::test]
async fn mongodb_inserts_finds_sorted_and_enforces_a_unique_index() {
    let scratch = TestMongo::new(&Stack::load(), "e2e");
    let db = scratch.database().await;
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
}

/// The local MongoDB-wire server is FerretDB on the stack's PostgreSQL (database `ferretdb`,
/// a schema per MongoDB database, a table per collection). A `find` by `_id` reaches
/// PostgreSQL as jsonb containment, served by the GIN index `dev/ferretdb/postgres.sql` adds.
/// That index must not keep a pending list: with one, every lookup read all the keys inserted
/// since autovacuum last ran, so a read model's lookups slowed down as events kept coming.
/// Here the pages a lookup reads stay few right after thousands of inserts.
#[tokio::test]
async fn a_lookup_by_id_reads_a_few_pages_however_many_documents_were_just_inserted() {
    const DOCS: usize = 4000;
    let stack = Stack::load();
    let scratch = TestMongo::new(&stack, "e2e");
    let (name, db) = (scratch.to_string(), scratch.database().await);
    let facts = db.collection::<Document>("facts");
    facts.insert_one(doc! { "_id": "first" }).await.expect("the collection exists");
    // One document per insert, as a consumer writes them.
    for i in 0..DOCS {
        facts.insert_one(doc! { "_id": format!("k{i:05}"), "n": i as i64 }).await.expect("insert");
    }
    let found = facts.find_one(doc! { "_id": "k02000" }).await.expect("find").expect("the document");
    assert_eq!(found.get_i64("n").expect("n"), 2000);

    let pg = sqlx::PgPool::connect(&tripnest_e2e::with_database(stack.database_url(), "ferretdb")).await.expect("ferretdb's database");
    let table: String = sqlx::query_scalar("SELECT tablename::text FROM pg_tables WHERE schemaname = $1 AND tablename LIKE 'facts\\_%'")
        .bind(&name)
        .fetch_one(&pg)
        .await
        .expect("the collection's table");
    let sql =
        format!(r#"EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) SELECT _jsonb FROM "{name}"."{table}" WHERE _jsonb -> '_id' @> '"k02000"'"#);
    let plan: serde_json::Value = sqlx::query_scalar(sqlx::AssertSqlSafe(sql)).fetch_one(&pg).await.expect("explain");
    let top = &plan[0]["Plan"];
    let pages = top["Shared Hit Blocks"].as_i64().unwrap_or(0) + top["Shared Read Blocks"].as_i64().unwrap_or(0);
    assert_eq!(top["Actual Rows"], 1, "{plan:#}");
    // 4 here (index root and leaf, the heap page); 13 with the pending list.
    assert!(pages <= 6, "a lookup by _id read {pages} pages after {DOCS} inserts: {plan:#}");
}

/// `tripnest_common::mongo::set_if_newer`, as the read models write a hotel's popularity: a
/// newer version is set and the document as it was comes back; an equal or older version, a
/// document without the field and a missing document are left alone (`None`).
#[tokio::test]
async fn set_if_newer_sets_only_a_newer_version_and_returns_what_was_there() {
    use tripnest_common::mongo::set_if_newer;
    let scratch = TestMongo::new(&Stack::load(), "e2e");
    let db = scratch.database().await;
    let hotels = db.collection::<Document>("hotels");
    hotels
        .insert_many([doc! { "_id": "h1", "popularity": 3_i64, "popularityVersion": 10_i64 }, doc! { "_id": "old", "popularity": 1_i64 }])
        .await
        .expect("insert");
    let set = |stays: i64, version: i64| doc! { "popularity": stays, "popularityVersion": version };
    let get = |id: &'static str| {
        let hotels = hotels.clone();
        async move { hotels.find_one(doc! { "_id": id }).await.expect("find").expect("document") }
    };

    let before = set_if_newer(&hotels, "h1", "popularityVersion", 11, set(4, 11)).await.expect("set").expect("newer: set");
    assert_eq!(before.get_i64("popularity"), Ok(3), "the document as it was");
    assert_eq!((get("h1").await.get_i64("popularity"), get("h1").await.get_i64("popularityVersion")), (Ok(4), Ok(11)));

    for stale in [11, 5] {
        let got = set_if_newer(&hotels, "h1", "popularityVersion", stale, set(9, stale)).await.expect("no-op");
        assert!(got.is_none(), "version {stale} is not newer than 11");
    }
    assert_eq!(get("h1").await.get_i64("popularity"), Ok(4), "left alone");
    assert!(set_if_newer(&hotels, "old", "popularityVersion", 1, set(2, 1)).await.expect("no-op").is_none(), "no version field");
    assert_eq!(get("old").await.get_i64("popularity"), Ok(1));
    assert!(set_if_newer(&hotels, "missing", "popularityVersion", 1, set(2, 1)).await.expect("no-op").is_none(), "no document");
    assert_eq!(hotels.count_documents(doc! {}).await.expect("count"), 2, "nothing inserted");
}
