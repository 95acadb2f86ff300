<?php
// The application keeps its own data in the same session. Tessera leaves it alone: it only
// sets the variables it owns (`projection.fields`) and deletes the session when it ends.
session_start();
header('Content-Type: application/json');
header('Cache-Control: no-store');

if (!isset($_SESSION['user_id'])) {
    http_response_code(401);
    echo json_encode(['signed_in' => false]);
    exit;
}
if ($_SERVER['REQUEST_METHOD'] === 'POST') {
    // The hub's cookie is SameSite=None (beacons set it from other sites' pages): refuse
    // cross-site form posts yourself.
    if (($_SERVER['HTTP_ORIGIN'] ?? '') !== 'https://' . $_SERVER['HTTP_HOST']) {
        http_response_code(403);
        exit;
    }
    $item = (string) ($_POST['item'] ?? '');
    if ($item !== '') {
        $_SESSION['cart'][] = $item;
    }
}
echo json_encode(['cart' => $_SESSION['cart'] ?? []]);
