use redis::AsyncCommands;
use tripnest_e2e::{Stack, unique};

#[tokio::test]
async fn redis_sets_a_key_and_gets_it_back() {
    let client = redis::Client::open(Stack::load().get("REDIS_URL")).expect("redis url");
    let mut conn = client.get_connection_manager().await.expect("connect to redis");
    let key = unique("e2e");
    let () = conn.set_ex(&key, "booked", 30).await.expect("set");
    let got: Option<String> = conn.get(&key).await.expect("get");
    assert_eq!(got.as_deref(), Some("booked"));
    let ttl: i64 = conn.ttl(&key).await.expect("ttl");
    assert!((1..=30).contains(&ttl), "ttl {ttl}");
    let missing: Option<String> = conn.get(unique("absent")).await.expect("get missing");
    assert_eq!(missing, None);
}
