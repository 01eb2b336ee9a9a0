// The AddPipe survey client's camera recorder: `public/camera-recorder.js` from the survey backend's plan (the
// user's seed 000, "Step 1.2: Add MediaRecorder for Camera"), copied verbatim. Everything below this header is byte
// for byte the seed's code; do not edit it (tools/test_survey_client.py runs it as the client ships it).
// uploadToS3 reads the global `S3_BASE_URL`, which the survey page defines (here: survey_client/index.html).

/**
 * Camera Recorder Module
 * Records camera separately from screen using MediaRecorder API
 */

var CameraRecorder = (function() {
    var mediaRecorder = null;
    var recordedChunks = [];
    var cameraStream = null;
    var isRecording = false;
    
    /**
     * Initialize camera stream
     * @returns {Promise<MediaStream>}
     */
    async function initCamera() {
        try {
            cameraStream = await navigator.mediaDevices.getUserMedia({
                video: {
                    width: { ideal: 640 },
                    height: { ideal: 360 },
                    frameRate: { ideal: 30 }
                },
                audio: false  // Audio comes from screen recording
            });
            return cameraStream;
        } catch (err) {
            console.error('Camera access error:', err);
            throw err;
        }
    }
    
    /**
     * Start recording camera
     */
    function startRecording() {
        if (!cameraStream) {
            console.error('Camera not initialized');
            return;
        }
        
        recordedChunks = [];
        
        // Use VP9 or VP8 codec for better compression
        var options = { mimeType: 'video/webm;codecs=vp9' };
        if (!MediaRecorder.isTypeSupported(options.mimeType)) {
            options = { mimeType: 'video/webm;codecs=vp8' };
        }
        if (!MediaRecorder.isTypeSupported(options.mimeType)) {
            options = { mimeType: 'video/webm' };
        }
        
        mediaRecorder = new MediaRecorder(cameraStream, options);
        
        mediaRecorder.ondataavailable = function(event) {
            if (event.data.size > 0) {
                recordedChunks.push(event.data);
            }
        };
        
        mediaRecorder.start(1000);  // Collect data every second
        isRecording = true;
        console.log('Camera recording started');
    }
    
    /**
     * Stop recording and return blob
     * @returns {Promise<Blob>}
     */
    function stopRecording() {
        return new Promise((resolve, reject) => {
            if (!mediaRecorder || !isRecording) {
                reject(new Error('Not recording'));
                return;
            }
            
            mediaRecorder.onstop = function() {
                var blob = new Blob(recordedChunks, { type: 'video/webm' });
                isRecording = false;
                console.log('Camera recording stopped, blob size:', blob.size);
                resolve(blob);
            };
            
            mediaRecorder.stop();
        });
    }
    
    /**
     * Upload camera blob to S3
     * @param {Blob} blob - Camera recording blob
     * @param {string} streamName - AddPipe stream name for matching files
     * @param {string} presignedUrl - Presigned S3 URL for upload
     * @returns {Promise<string>} - Final S3 URL
     */
    async function uploadToS3(blob, streamName, presignedUrl) {
        console.log('Uploading camera recording to S3...');
        
        const response = await fetch(presignedUrl, {
            method: 'PUT',
            body: blob,
            headers: {
                'Content-Type': 'video/webm'
            }
        });
        
        if (!response.ok) {
            throw new Error('Failed to upload camera recording: ' + response.status);
        }
        
        console.log('Camera recording uploaded successfully');
        return `${S3_BASE_URL}${streamName}_camera.webm`;
    }
    
    /**
     * Show camera preview in a container
     * @param {HTMLElement} container - Container element for preview
     */
    function showPreview(container) {
        if (!cameraStream) {
            console.error('Camera not initialized');
            return;
        }
        
        var video = document.createElement('video');
        video.srcObject = cameraStream;
        video.autoplay = true;
        video.muted = true;
        video.playsInline = true;
        video.style.cssText = 'width: 100%; height: 100%; object-fit: cover; border-radius: 8px;';
        
        container.innerHTML = '';
        container.appendChild(video);
    }
    
    /**
     * Stop camera stream
     */
    function stopCamera() {
        if (cameraStream) {
            cameraStream.getTracks().forEach(track => track.stop());
            cameraStream = null;
        }
    }
    
    /**
     * Check if currently recording
     * @returns {boolean}
     */
    function getIsRecording() {
        return isRecording;
    }
    
    // Public API
    return {
        initCamera: initCamera,
        startRecording: startRecording,
        stopRecording: stopRecording,
        uploadToS3: uploadToS3,
        showPreview: showPreview,
        stopCamera: stopCamera,
        isRecording: getIsRecording
    };
})();
