# duration: 0.1
sleep 0.1
echo "test_charlie ok"
