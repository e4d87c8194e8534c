# duration: 0.6
sleep 0.6
echo "test_delta ok"
