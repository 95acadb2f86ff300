<?php
// Who is signed in: Tessera wrote it into this PHP session when the hub set the PHPSESSID
// cookie. Nothing here talks to Tessera; PHP's redis session handler reads the session.
session_start();
header('Content-Type: application/json');
header('Cache-Control: no-store');

if (!isset($_SESSION['user_id'])) {
    http_response_code(401);
    echo json_encode([
        'signed_in' => false,
        // A sign-in goes through the hub, which sends the visitor back here with the cookie set.
        'sign_in' => '/shared-session/start?prompt=login&return_to=' . rawurlencode('/whoami.php'),
    ]);
    exit;
}

echo json_encode([
    'signed_in' => true,
    'user_id' => $_SESSION['user_id'],
    'email' => $_SESSION['email'] ?? null,
    'name' => $_SESSION['name'] ?? null,
    'roles' => $_SESSION['roles'] ?? [],
    'tessera_sid' => $_SESSION['tessera_sid'],
    // The application's own data, kept beside Tessera's variables.
    'cart' => $_SESSION['cart'] ?? [],
]);
